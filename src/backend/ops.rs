//! The primitive operations every backend implements. The frontend (`tensor`) checks shapes and records
//! autograd; a backend only computes. Each variant's meaning is fixed here, by its scalar definition
//! (`UnaryOp::apply`, `BinaryOp::apply`), which the CPU reference kernels call element by element.

/// Elementwise functions of one input. Parameters ride in the variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Abs,
    /// -1, 0 or 1 (0 at 0): the derivative of `Abs`.
    Sign,
    Sigmoid,
    Tanh,
    Relu,
    /// 1 where x > 0, else 0: the derivative of `Relu`.
    Step,
    LeakyRelu(f32),
    /// 1 where x > 0, else the slope.
    LeakyReluDeriv(f32),
    /// x for x > 0, alpha·(eˣ − 1) otherwise.
    Elu(f32),
    EluDeriv(f32),
    /// Exact GELU, x·Φ(x) with Φ the standard normal CDF (PyTorch's default).
    Gelu,
    GeluDeriv,
    /// x·σ(x), also called Swish.
    Silu,
    SiluDeriv,
    /// ln(1 + eˣ), computed without overflow.
    Softplus,
    /// x^p for a constant p.
    PowScalar(f32),
    AddScalar(f32),
    MulScalar(f32),
}

impl UnaryOp {
    /// The scalar definition: the specification every kernel of every backend must match.
    pub fn apply(self, x: f32) -> f32 {
        use UnaryOp::*;
        match self {
            Neg => -x,
            Exp => libm::expf(x),
            Log => libm::logf(x),
            Sqrt => libm::sqrtf(x),
            Abs => x.abs(),
            Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Sigmoid => sigmoid(x),
            Tanh => libm::tanhf(x),
            // NaN stays NaN (as in PyTorch), which `x.max(0.0)` would hide.
            Relu => {
                if x <= 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Step => f32::from(u8::from(x > 0.0)),
            LeakyRelu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * x
                }
            }
            LeakyReluDeriv(a) => {
                if x > 0.0 {
                    1.0
                } else {
                    a
                }
            }
            Elu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * libm::expm1f(x)
                }
            }
            EluDeriv(a) => {
                if x > 0.0 {
                    1.0
                } else {
                    a * libm::expf(x)
                }
            }
            Gelu => x * normal_cdf(x),
            GeluDeriv => normal_cdf(x) + x * normal_pdf(x),
            Silu => x * sigmoid(x),
            SiluDeriv => {
                let s = sigmoid(x);
                s * (1.0 + x * (1.0 - s))
            }
            // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows.
            Softplus => x.max(0.0) + libm::log1pf(libm::expf(-x.abs())),
            PowScalar(p) => libm::powf(x, p),
            AddScalar(c) => x + c,
            MulScalar(c) => x * c,
        }
    }

    /// The name used in error messages and the autograd graph.
    pub fn name(self) -> &'static str {
        use UnaryOp::*;
        match self {
            Neg => "neg",
            Exp => "exp",
            Log => "log",
            Sqrt => "sqrt",
            Abs => "abs",
            Sign => "sign",
            Sigmoid => "sigmoid",
            Tanh => "tanh",
            Relu => "relu",
            Step => "step",
            LeakyRelu(_) => "leaky_relu",
            LeakyReluDeriv(_) => "leaky_relu_deriv",
            Elu(_) => "elu",
            EluDeriv(_) => "elu_deriv",
            Gelu => "gelu",
            GeluDeriv => "gelu_deriv",
            Silu => "silu",
            SiluDeriv => "silu_deriv",
            Softplus => "softplus",
            PowScalar(_) => "pow",
            AddScalar(_) => "add_scalar",
            MulScalar(_) => "mul_scalar",
        }
    }
}

/// σ(x) = 1 / (1 + e⁻ˣ), evaluated on the side that cannot overflow.
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + libm::expf(-x))
    } else {
        let e = libm::expf(x);
        e / (1.0 + e)
    }
}

fn normal_cdf(x: f32) -> f32 {
    0.5 * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
}

fn normal_pdf(x: f32) -> f32 {
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    INV_SQRT_2PI * libm::expf(-0.5 * x * x)
}

/// Elementwise functions of two inputs (broadcast to a common shape by the frontend).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    /// Comparisons give 1.0 where true and 0.0 where false.
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinaryOp {
    pub fn apply(self, a: f32, b: f32) -> f32 {
        use BinaryOp::*;
        let truth = |t: bool| f32::from(u8::from(t));
        match self {
            Add => a + b,
            Sub => a - b,
            Mul => a * b,
            Div => a / b,
            // NaN in either input propagates, as in PyTorch (f32::max would drop it).
            Maximum => {
                if a.is_nan() || b.is_nan() {
                    f32::NAN
                } else {
                    a.max(b)
                }
            }
            Minimum => {
                if a.is_nan() || b.is_nan() {
                    f32::NAN
                } else {
                    a.min(b)
                }
            }
            Eq => truth(a == b),
            Ne => truth(a != b),
            Lt => truth(a < b),
            Le => truth(a <= b),
            Gt => truth(a > b),
            Ge => truth(a >= b),
        }
    }

    pub fn name(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "add",
            Sub => "sub",
            Mul => "mul",
            Div => "div",
            Maximum => "maximum",
            Minimum => "minimum",
            Eq => "eq",
            Ne => "ne",
            Lt => "lt",
            Le => "le",
            Gt => "gt",
            Ge => "ge",
        }
    }
}

/// Reductions along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Max,
    /// Index of the first maximum, as f32.
    ArgMax,
}

/// The geometry of a 2-D sliding window (convolution or pooling): kernel, stride and zero padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
}

impl Window {
    /// Output height and width for an input of `h`×`w`: ⌊(S + 2P − K) / stride⌋ + 1 per side (textbook §7),
    /// or `None` when the kernel does not fit or the stride is 0.
    pub fn output_size(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let side = |s: usize, k: usize, st: usize, p: usize| {
            if st == 0 || k == 0 || s + 2 * p < k { None } else { Some((s + 2 * p - k) / st + 1) }
        };
        Some((
            side(h, self.kernel.0, self.stride.0, self.padding.0)?,
            side(w, self.kernel.1, self.stride.1, self.padding.1)?,
        ))
    }
}

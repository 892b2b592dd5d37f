//! Shapes, strides and NumPy/PyTorch broadcasting. Every tensor is stored contiguous, row-major, so its
//! strides follow from its shape.

use std::fmt;

use crate::error::{LabError, Result};

/// The dimensions of a tensor, outermost first. Rank 0 (a scalar) has no dimensions and one element.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(Vec<usize>);

impl Shape {
    pub fn new(dims: &[usize]) -> Shape {
        Shape(dims.to_vec())
    }

    pub fn scalar() -> Shape {
        Shape(Vec::new())
    }

    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements (1 for a scalar, 0 if any dimension is 0). Saturates at `usize::MAX` for absurd
    /// shapes, so a size check against real data fails cleanly instead of overflowing.
    pub fn numel(&self) -> usize {
        if self.0.contains(&0) {
            return 0;
        }
        self.0.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).unwrap_or(usize::MAX)
    }

    /// Row-major strides in elements: the last dimension has stride 1.
    pub fn strides(&self) -> Vec<usize> {
        let mut strides = vec![1; self.rank()];
        for i in (0..self.rank().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.0[i + 1];
        }
        strides
    }

    /// Resolves a possibly negative axis (-1 is the last) against this rank.
    pub fn axis(&self, axis: isize, op: &str) -> Result<usize> {
        let rank = self.rank() as isize;
        let a = if axis < 0 { axis + rank } else { axis };
        if a < 0 || a >= rank.max(1) || (rank == 0 && a != 0) {
            return Err(LabError::InvalidArgument(format!(
                "{op}: axis {axis} is out of range for shape {self}"
            )));
        }
        Ok(a as usize)
    }

    /// The broadcast of two shapes (NumPy rules: align right, sizes equal or one of them 1).
    pub fn broadcast(&self, other: &Shape, op: &'static str) -> Result<Shape> {
        let rank = self.rank().max(other.rank());
        let mut dims = vec![0; rank];
        for (i, d) in dims.iter_mut().enumerate() {
            let a = self.dim_from_right(rank - 1 - i);
            let b = other.dim_from_right(rank - 1 - i);
            *d = match (a, b) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => return Err(LabError::Shape { op, left: self.0.clone(), right: other.0.clone() }),
            };
        }
        Ok(Shape(dims))
    }

    /// Strides for reading this shape as if broadcast to `target` (0 along broadcast dimensions).
    /// `target` must be a broadcast of `self`.
    pub fn broadcast_strides(&self, target: &Shape) -> Vec<usize> {
        let own = self.strides();
        let offset = target.rank() - self.rank();
        (0..target.rank())
            .map(|i| if i < offset || self.0[i - offset] == 1 { 0 } else { own[i - offset] })
            .collect()
    }

    /// Dimension `k` counted from the right (0 = last), 1 past the rank.
    fn dim_from_right(&self, k: usize) -> usize {
        if k < self.rank() { self.0[self.rank() - 1 - k] } else { 1 }
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Shape {
        Shape::new(dims)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Shape {
        Shape(dims.to_vec())
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_are_row_major() {
        assert_eq!(Shape::from([2, 3, 4]).strides(), vec![12, 4, 1]);
        assert_eq!(Shape::scalar().strides(), Vec::<usize>::new());
        assert_eq!(Shape::scalar().numel(), 1);
    }

    #[test]
    fn broadcasting_follows_numpy() {
        let b = |x: &[usize], y: &[usize]| Shape::new(x).broadcast(&Shape::new(y), "t").map(|s| s.0);
        assert_eq!(b(&[4, 1, 3], &[2, 1]).unwrap(), vec![4, 2, 3]);
        assert_eq!(b(&[], &[2, 3]).unwrap(), vec![2, 3]);
        assert_eq!(b(&[5, 3], &[3]).unwrap(), vec![5, 3]);
        let err = b(&[2, 3], &[4]).unwrap_err().to_string();
        assert_eq!(err, "t: shapes [2, 3] and [4] do not match");
        assert_eq!(Shape::from([3, 1]).broadcast_strides(&Shape::from([2, 3, 4])), vec![0, 1, 0]);
    }

    #[test]
    fn negative_axes_count_from_the_end() {
        let s = Shape::from([2, 3, 4]);
        assert_eq!(s.axis(-1, "t").unwrap(), 2);
        assert_eq!(s.axis(0, "t").unwrap(), 0);
        assert!(
            s.axis(3, "t").unwrap_err().to_string().contains("axis 3 is out of range for shape [2, 3, 4]")
        );
    }
}

// The little linear algebra the viewer needs: 4 x 4 matrices (rows of numbers) on homogeneous vectors.

export function apply(matrix, vector) {
  return matrix.map((row) => row.reduce((sum, value, i) => sum + value * vector[i], 0));
}

export function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

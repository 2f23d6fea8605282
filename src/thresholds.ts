// Comparison operators shared by promotion gates (`--require 'accuracy>=0.9'`) and
// monitor rules (`op: '>'`): one definition of what each operator means.

export const OPERATORS = ['>', '<', '>=', '<=', '==', '!='] as const;
export type Operator = (typeof OPERATORS)[number];

/** NaN compares false with everything, so a missing value never passes or fires. */
export function compare(value: number, op: Operator, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '<':
      return value < threshold;
    case '>=':
      return value >= threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

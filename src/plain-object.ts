// One check for "a parsed JSON/YAML value that is a mapping", shared by every reader of
// config files and tool output (alerts, monitor rules, drift JSON lines, kubectl, serve).

/** A non-null object that is not an array: a JSON object or a YAML mapping. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * zod issues in the project's error shape: one line per problem, each naming
 * the field path and the rule (`services[1].hpa.maxReplicas must be ≥ …`).
 * The config loader and every handler's event parsing share it.
 */
import type { z } from 'zod';

export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    // A key that is not an identifier (a label key such as "my app" or "example.com/tier") is quoted, so the path reads unambiguously.
    else if (typeof part === 'string' && !/^[A-Za-z_$][\w$]*$/.test(part)) text += `[${JSON.stringify(part)}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(root)' : text;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function formatIssue(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): string[] {
  const path = [...prefix, ...issue.path];
  const where = formatPath(path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => `${formatPath([...path, key])} is not a known key`);
    case 'invalid_type':
      if (issue.input === undefined) return [`${where} is required`];
      // z.number().int() reports a fraction as an invalid type with our own message.
      if (issue.expected === 'int') return [`${where} ${issue.message}`];
      return [`${where} must be ${issue.expected === 'array' ? 'a list' : `a ${issue.expected}`} (got ${describeValue(issue.input)})`];
    case 'invalid_union':
      if ('note' in issue && issue.note === 'No matching discriminator') return [`${where} has an unknown type (got ${describeValue(issue.input)})`];
      return [`${where} ${issue.message}`];
    case 'invalid_key':
      // The key's own rule says more than "Invalid key in record".
      return issue.issues.map((inner) => `${where} ${inner.message}`);
    case 'invalid_value':
      return [`${where} must be ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${describeValue(issue.input)})`];
    default:
      return [`${where} ${issue.message}`];
  }
}

/** Every problem of a failed parse, deduplicated and sorted so the message is the same on every run. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  return [...new Set(issues.flatMap((issue) => formatIssue(issue, prefix)))].sort();
}

import { InvalidIdentifierError } from './errors.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Throws `InvalidIdentifierError` unless `name` is a plain SQL identifier
 * (`^[A-Za-z_][A-Za-z0-9_]*$`, at most 63 characters). Backends call this
 * before putting any configured table or column name into SQL, so a quote, a
 * semicolon or a Unicode look-alike can never reach a statement.
 */
export function validateIdentifier(name: unknown, role: string): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name) || name.length > 63) {
    throw new InvalidIdentifierError(
      String(name),
      role,
      'letters, digits and underscores only, not starting with a digit, at most 63 characters',
    );
  }
  return name;
}

/** pgvector's text form; bound as a parameter and cast with `::vector`. */
export function vectorLiteral(v: ArrayLike<number>): string {
  let out = '[';
  for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + String(v[i]);
  return `${out}]`;
}

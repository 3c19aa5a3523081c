/** kpx command-line entry point (placeholder until the CLI lands). */
export async function main(argv: readonly string[]): Promise<number> {
  process.stderr.write(`kpx: not implemented yet: ${argv.join(' ')}\n`);
  return 2;
}

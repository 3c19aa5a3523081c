/**
 * Making input safe to echo: every value from argv, a file name or a manifest that
 * appears in a message passes through here, so a control character (a newline that
 * would forge a second message, an escape sequence that would drive the terminal) is
 * shown escaped, never raw.
 */

// C0 and C1 controls, DEL, line/paragraph separators and bidirectional overrides.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const MAX = 200;

/** The text with unsafe characters as `\uXXXX` (`\n`, `\t` for the common ones); long text is cut. */
export function escapeText(s: string, max = MAX): string {
  const escaped = s.replace(UNSAFE, (ch) => {
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    if (ch === '\r') return '\\r';
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return escaped.length > max ? `${escaped.slice(0, max - 3)}...` : escaped;
}

/** `"value"`, escaped as escapeText does, with `"` and `\` escaped too. */
export function quote(s: string, max = MAX): string {
  return `"${escapeText(s.replace(/\\/g, '\\\\').replace(/"/g, '\\"'), max)}"`;
}

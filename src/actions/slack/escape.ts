/**
 * Making incident text safe for Slack. Labels, annotations, process names and findings come from the
 * watched workloads, so they are hostile input: `<!channel>`, `<@U123>` or `<https://x|click>` in a pod
 * name must show as text, never ping anyone or make a link; `*bold*` must not restyle the message; a
 * 10,000-character label must not make Slack reject the whole message (`invalid_blocks`).
 */

/** Slack's documented size limits of Block Kit text objects, in characters. */
export const SLACK_LIMITS = {
  /** Header block text (plain_text). */
  header: 150,
  /** Section block text. */
  sectionText: 3000,
  /** One field of a section block. */
  field: 2000,
  /** Fields per section block. */
  fieldsPerSection: 10,
  /** Text of one context element. */
  contextText: 2000,
  /** Elements per context block. */
  contextElements: 10,
  /** Blocks per message. */
  blocks: 50,
  /** The notification fallback `text` (Slack truncates past 40,000; 4,000 keeps notifications readable). */
  fallbackText: 4000,
} as const;

/** Longest label value we show; a longer one is cut (the full value stays in the bundle). */
export const MAX_LABEL_CHARS = 200;

/** Replaces the three characters Slack treats as control characters in text with their entities. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Cuts `text` to at most `max` characters, ending with `…` when cut. Never cuts inside an entity
 * (`&amp;`) or a surrogate pair, so the result stays valid for Slack.
 */
export function truncate(text: string, max: number): string {
  if (max < 1) return '';
  if (text.length <= max) return text;
  let cut = max - 1;
  // Back off to before an entity that the cut would split (&amp; &lt; &gt; are at most 5 characters).
  const amp = text.lastIndexOf('&', cut);
  if (amp >= 0 && amp > cut - 5) {
    const semi = text.indexOf(';', amp);
    if (semi === -1 || semi >= cut) cut = amp;
  }
  // A high surrogate as the last kept character would leave half an emoji.
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${text.slice(0, cut)}…`;
}

/** Escapes, then truncates to `max`: for plain_text objects and any prose from incident data. */
export function safeText(text: string, max: number): string {
  return truncate(escapeText(text), max);
}

/**
 * A value from incident data to embed in mrkdwn: shown as inline code, so `*`, `_`, `~` and links are
 * not interpreted; backticks inside (which would end the code span) become a look-alike (U+02CB), and
 * line breaks become spaces. Long values are cut to `max` characters before escaping.
 */
export function codeSpan(value: string, max: number = MAX_LABEL_CHARS): string {
  const flat = value.replace(/[\r\n\t]+/g, ' ').replace(/`/g, 'ˋ');
  const cut = truncate(flat, max);
  return cut === '' ? '`(empty)`' : `\`${escapeText(cut)}\``;
}

/**
 * Prose from incident data (headlines, summaries) for mrkdwn: escaped, and every formatting marker that could open
 * or close a style (one at a word boundary) made inert by a zero-width space after it. Markers inside a word
 * (`json_encode`, `a*b`) never style text in Slack and are left alone, so identifiers copy cleanly. Cut to `max`.
 */
export function inertMrkdwn(text: string, max: number): string {
  const word = /[\p{L}\p{N}]/u;
  const inert = escapeText(text).replace(/[*_~`]/g, (c, at: number, all: string) => {
    const inside = at > 0 && word.test(all[at - 1]) && at + 1 < all.length && word.test(all[at + 1]);
    return inside ? c : `${c}\u200B`;
  });
  return truncate(inert, max);
}

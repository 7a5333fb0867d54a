/**
 * Did-you-mean suggestions for misspelt keywords: the closest known keyword by edit
 * distance (insertions, deletions, substitutions and adjacent transpositions).
 */

/** Optimal string alignment distance between two strings. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, (prev2[j - 2] as number) + 1);
      }
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n] as number;
}

/**
 * The known word closest to `word`, or undefined when nothing is close enough (at most a
 * third of the word's length, and at least 1 edit allowed). Case differences count as
 * half-close: `Priority` suggests `priority`.
 */
export function suggest(word: string, known: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  const lower = word.toLowerCase();
  for (const k of known) {
    if (Math.abs(k.length - word.length) > limit) continue;
    const d = k.toLowerCase() === lower ? 0.5 : editDistance(word, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return bestD <= limit ? best : undefined;
}

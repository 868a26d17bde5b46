/**
 * Who may click: Slack user ids in `slack.interactivity.allowed_users`, or members of a user group in
 * `allowed_groups` (read with usergroups.users.list and kept `group_cache` long). Nobody when both are empty.
 * A failed group read denies, it never allows; the failure is kept `FAILED_READ_MS` (at most `group_cache`), so
 * during a Slack outage each click does not read every group again.
 */

/** Reads a user group's members (SlackClient.groupMembers). */
export type GroupMembers = (group: string) => Promise<string[]>;

/** How long a failed group read is remembered (the group denies meanwhile). */
export const FAILED_READ_MS = 30_000;

export class Allowlist {
  readonly #users: ReadonlySet<string>;
  readonly #groups: readonly string[];
  readonly #ttlMs: number;
  readonly #members: GroupMembers;
  readonly #now: () => number;
  readonly #cache = new Map<string, { users: ReadonlySet<string>; at: number } | { error: string; at: number }>();

  constructor(
    o: { users: readonly string[]; groups: readonly string[]; cacheMs: number },
    members: GroupMembers,
    now: () => number = Date.now,
  ) {
    this.#users = new Set(o.users);
    this.#groups = o.groups;
    this.#ttlMs = o.cacheMs;
    this.#members = members;
    this.#now = now;
  }

  /** True when `user` may click; `error` says why a group could not be read. */
  async allows(user: string): Promise<{ ok: boolean; error?: string }> {
    if (this.#users.has(user)) return { ok: true };
    let error: string | undefined;
    for (const g of this.#groups) {
      try {
        if ((await this.#group(g)).has(user)) return { ok: true };
      } catch (err) {
        error = `user group ${g}: ${(err as Error).message}`;
      }
    }
    return { ok: false, error };
  }

  async #group(g: string): Promise<ReadonlySet<string>> {
    const hit = this.#cache.get(g);
    if (hit && 'error' in hit) {
      if (this.#now() - hit.at < Math.min(FAILED_READ_MS, this.#ttlMs)) throw new Error(hit.error);
    } else if (hit && this.#now() - hit.at < this.#ttlMs) return hit.users;
    try {
      const users = new Set(await this.#members(g));
      this.#cache.set(g, { users, at: this.#now() });
      return users;
    } catch (err) {
      // A failed read replaces what was known: the group denies until a read succeeds again.
      this.#cache.set(g, {
        error: `${(err as Error)?.message ?? 'error'} (kept ${FAILED_READ_MS / 1000} s)`,
        at: this.#now(),
      });
      throw err;
    }
  }
}

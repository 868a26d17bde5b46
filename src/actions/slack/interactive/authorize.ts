/**
 * Who may click: Slack user ids in `slack.interactivity.allowed_users`, or members of a user group in
 * `allowed_groups` (read with usergroups.users.list and kept `group_cache` long). Nobody when both are empty.
 * A failed group read denies (and is retried at the next click), it never allows.
 */

/** Reads a user group's members (SlackClient.groupMembers). */
export type GroupMembers = (group: string) => Promise<string[]>;

export class Allowlist {
  readonly #users: ReadonlySet<string>;
  readonly #groups: readonly string[];
  readonly #ttlMs: number;
  readonly #members: GroupMembers;
  readonly #now: () => number;
  readonly #cache = new Map<string, { users: ReadonlySet<string>; at: number }>();

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
    if (hit && this.#now() - hit.at < this.#ttlMs) return hit.users;
    const users = new Set(await this.#members(g));
    this.#cache.set(g, { users, at: this.#now() });
    return users;
  }
}

/**
 * Whether incident messages carry buttons: an app token is set (Socket Mode can deliver clicks) and messages go
 * to Slack (not the file sink). Capture buttons also need this process to reach a probe side that takes capture
 * requests; the network side says so when it starts (`offerCaptures`).
 */
import type { Config } from '../../../config.ts';
import { slackAppToken } from '../settings/interactive.ts';
import type { Interactive } from './controls.ts';

let captures = false;

/** Called by the network side once capture requests from clicks can reach the probe side. */
export function offerCaptures(on: boolean): void {
  captures = on;
}

/** The buttons this engine offers on messages sent through `transport`. */
export function interactiveOf(config: Readonly<Config>, env: NodeJS.ProcessEnv, transport: string): Interactive {
  if (transport !== 'client') return { on: false, capture: false };
  let token: string | undefined;
  try {
    token = slackAppToken(config.slack, env);
  } catch {
    token = undefined; // an unreadable app token file is reported by the socket's start; no buttons meanwhile
  }
  return token ? { on: true, capture: captures } : { on: false, capture: false };
}

/**
 * The seam between a Capture again / Extend +30 s click and the probe side: the network side asks, the probe side
 * (which owns the kernel and the capture limits) decides and captures. Each call returns the words for the thread.
 */
import type { Incident } from '../../../incident.ts';
import type { MessageRef } from '../transport.ts';

export interface CaptureRequests {
  /** A new scoped capture of the incident's target now (its bundle is posted in `thread` when done). */
  request(incident: Incident, by: string, thread: MessageRef): Promise<string>;
  /** Extends the capture running for the incident by 30 s (within the capture limits). */
  extend(incident: Incident, by: string): Promise<string>;
}

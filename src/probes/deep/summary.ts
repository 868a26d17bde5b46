/** Building blocks of the deep probes' summary schemas (`CatalogProbe.summary`). Pure. */
import { z } from 'zod';

/** Any number but NaN: histogram bounds may be Infinity (zod's number rejects it). */
export const num = z.custom<number>((v) => typeof v === 'number' && !Number.isNaN(v), 'expected a number');

/** A non-negative count. */
export const count = z.number().int().nonnegative();

/** A neighbour of runqslower (src/bundle/types.ts `Neighbour`). */
export const neighbourSchema = z.object({
  pid: z.number().int(),
  comm: z.string(),
  cgroupId: z.string(),
  cgroupPath: z.string(),
  count,
  delaySeconds: num,
});

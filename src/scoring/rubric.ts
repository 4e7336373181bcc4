import { z } from 'zod';
import { loadConfig } from '../config/load.ts';
import type { Rubric } from './types.ts';

const term = z
  .object({
    metric: z.string().min(1),
    direction: z.enum(['lower-is-better', 'higher-is-better']),
    best: z.number(),
    worst: z.number(),
    weight: z.number().positive().optional(),
  })
  .strict()
  .refine((t) => (t.direction === 'lower-is-better' ? t.best < t.worst : t.best > t.worst), {
    message: 'best and worst anchors contradict the direction',
  });

const gate = z
  .object({
    metric: z.string().min(1),
    op: z.enum(['<=', '>=', '==', '<', '>']),
    value: z.number(),
    because: z.string().min(1),
  })
  .strict();

export const rubricSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'version must look like 1.0 or 1.0.0'),
    criteria: z
      .array(
        z
          .object({
            id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'id must be kebab-case'),
            title: z.string().min(1),
            area: z.enum(['lightweight-images', 'edge-cloud-collaboration', 'dynamic-scheduling']),
            weight: z.number().positive(),
            terms: z.array(term).min(1),
            gates: z.array(gate).optional(),
          })
          .strict(),
      )
      .min(1)
      .refine((cs) => new Set(cs.map((c) => c.id)).size === cs.length, {
        message: 'criterion ids must be unique',
      }),
  })
  .strict();

/** Typed helper for rubric files (scenarios/rubric.ts). */
export function defineRubric(r: Rubric): Rubric {
  return r;
}

export async function loadRubric(file: string): Promise<Rubric> {
  return loadConfig(file, rubricSchema, 'rubric');
}

/** The run record moved to src/record (one zod schema, the type inferred from it); kept for importers. */
export type { FaultRecord, LoadWindow, RunRecord, SeriesPoint, TimelineEvent } from '../record/schema.ts';

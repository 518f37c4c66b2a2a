import { migration0001Init } from './0001-init.js';

/** One schema step: applied in one transaction, after which `PRAGMA user_version` equals `version`. */
export interface Migration {
  /** The schema version this migration produces (1, 2, 3…; never reused, never reordered). */
  version: number;
  /** A short kebab-case name, as in the file name. */
  name: string;
  /** The statements, run in order inside the migration's transaction. */
  statements: readonly string[];
}

/**
 * Every migration, oldest first. Add a new file `NNNN-name.ts` and append it here; never edit a released one.
 * The schema version of a database is the `version` of the last migration applied to it.
 */
export const migrations: readonly Migration[] = [{ version: 1, name: 'init', statements: migration0001Init }];

/** The schema version this build of the registry writes. */
export const schemaVersion: number = migrations[migrations.length - 1]?.version ?? 0;

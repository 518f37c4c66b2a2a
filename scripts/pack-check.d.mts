/** What {@link packCheck} found. */
export interface PackCheckResult {
  packageName: string;
  /** The tarball's file name, e.g. `nexstream-core-0.0.0.tgz`. */
  tarball: string;
  /** The paths inside the tarball. */
  files: string[];
  /** How the tarball was installed: `offline`, `prefer-offline`, or `extracted` (by hand). */
  installedWith: 'offline' | 'prefer-offline' | 'extracted';
  /** What the scratch project's ESM check printed. */
  output: string;
}

/** Packs a package, installs it into a scratch ESM project, type-checks and runs imports by name. */
export function packCheck(options?: {
  /** Default: packages/core. */
  packageDir?: string;
  /** Workspace packages the checked one depends on, packed and installed alongside it. */
  withPackageDirs?: string[];
  /** The TypeScript consumer `tsc` checks (index.ts). Default: a consumer of @nexstream/core. */
  source?: string;
  /** The ESM script node runs (check.mjs); it must print `pack-check ok`. */
  check?: string;
  /** Merged into the scratch project's compilerOptions (e.g. `lib` with DOM for browser entries). */
  compilerOptions?: Record<string, unknown>;
  /** The `npm install` modes to try in order before unpacking by hand. Default `['--offline', '--prefer-offline']`. */
  installModes?: string[];
  log?: (line: string) => void;
}): Promise<PackCheckResult>;

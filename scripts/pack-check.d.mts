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
  /** The `npm install` modes to try in order before unpacking by hand. Default `['--offline', '--prefer-offline']`. */
  installModes?: string[];
  log?: (line: string) => void;
}): Promise<PackCheckResult>;

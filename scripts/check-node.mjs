// Fails fast, with the fix, when the project's scripts run on a Node older than the supported range.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `NexStream needs Node >= 22.12 (this is ${process.version}). Run \`source scripts/ensure-node.sh\` first: ` +
      'it installs Node 24 from the npm registry into a cache folder and puts it on PATH.',
  );
  process.exit(1);
}

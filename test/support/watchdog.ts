/**
 * Loaded into every test file's process (`scripts/test` passes `--import`): a file still running after
 * TRIPLINE_TEST_FILE_MINUTES (default 15) fails, naming what keeps it alive, instead of holding CI until its deadline
 * (a client left reconnecting after a failed test once kept a file alive for 80 minutes). The timer is unref'd, so a
 * file that ends on its own is not held by it. Only test files are watched, not the runner that starts them.
 */
if (process.env.NODE_TEST_CONTEXT) {
  const minutes = Number(process.env.TRIPLINE_TEST_FILE_MINUTES ?? 15);
  setTimeout(() => {
    process.stderr.write(
      `watchdog: ${process.argv[1]} still running after ${minutes} min; open: ${process.getActiveResourcesInfo().join(', ')}\n`,
    );
    process.exit(1);
  }, minutes * 60_000).unref();
}

// What every browser test shares: Debian's Chromium, headless, with the
// software WebGL MapLibre needs, and a failure that is reported and lets
// the script go on to find the next one.
import { chromium } from 'playwright-core';

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking'],
  });
}

/** Reports a failed check; the script exits non-zero at the end. */
export function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exitCode = 1;
}

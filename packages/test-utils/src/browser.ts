import { existsSync } from "node:fs";

export function chromiumPath(): string | undefined {
  const candidates = [process.env.LEAKSCOPE_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** Facts read from a leakscope HTML report page. */
export interface PageFacts {
  title: string;
  pageErrors: string[];
  dialogs: string[];
  externalRequests: string[];
  suspectText: string;
  typeText: string;
  scriptElements: number;
  imgElements: number;
  svgBars: number;
}

/**
 * Open a local HTML file in headless Chromium (Debian's `chromium`, through playwright-core; no
 * browser download), collect facts and save a screenshot. Network requests other than file:/data:
 * are recorded, so tests can assert the page loads nothing.
 */
export async function openInChromium(executablePath: string, file: string, screenshot: string): Promise<PageFacts> {
  const run = await withChromiumPage(
    executablePath,
    file,
    async (page) => {
      const facts = {
        title: await page.title(),
        suspectText: (await page.locator(".suspect h3").first().textContent()) ?? "",
        typeText: (await page.locator(".suspect code.type").first().textContent()) ?? "",
        scriptElements: await page.locator("script").count(),
        imgElements: await page.locator("img").count(),
        svgBars: await page.locator("svg rect.bar").count(),
      };
      await page.screenshot({ path: screenshot, fullPage: true });
      return facts;
    },
    { width: 1200, height: 900 },
  );
  return { ...run.value, pageErrors: run.pageErrors, dialogs: run.dialogs, externalRequests: run.externalRequests };
}

/** What {@link withChromiumPage} saw besides the callback's answer. */
export interface PageRun<T> {
  value: T;
  pageErrors: string[];
  /** Messages of alert/confirm/prompt dialogs (dismissed). */
  dialogs: string[];
  externalRequests: string[];
}

/**
 * Open a local HTML file in headless Chromium and hand the page to `use` (DOM and layout
 * assertions: element boxes, computed styles). Requests other than file:/data: are recorded.
 */
export async function withChromiumPage<T>(
  executablePath: string,
  file: string,
  use: (page: import("playwright-core").Page) => Promise<T>,
  viewport: { width: number; height: number } = { width: 1280, height: 900 },
): Promise<PageRun<T>> {
  const { chromium: pw } = await import("playwright-core");
  const browser = await pw.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  try {
    const page = await browser.newPage({ viewport });
    const pageErrors: string[] = [];
    const dialogs: string[] = [];
    const externalRequests: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
    page.on("dialog", async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    page.on("request", (req) => {
      if (!/^(file|data):/.test(req.url())) externalRequests.push(req.url());
    });
    await page.goto(`file://${file}`);
    const value = await use(page);
    return { value, pageErrors, dialogs, externalRequests };
  } finally {
    await browser.close();
  }
}

// Page object for the flowtape viewer: named locators and the few interactions the tests need, so tests read
// as what a person does ("step", "open the session tab") rather than as selectors.
import type { Locator, Page } from 'playwright-core';

export interface CursorInfo {
  cursor: number;
  seq: number;
  total: number;
}

export class ViewerPage {
  constructor(readonly page: Page, readonly baseUrl: string) {}

  /** Opens `?query` and waits until a bundle, a run list or the landing page is on screen. */
  async open(query = ''): Promise<void> {
    await this.page.goto(new URL(query ? `/?${query.replace(/^\?/, '')}` : '/', this.baseUrl).toString());
    await this.ready();
  }

  async ready(timeout = 15_000): Promise<void> {
    await this.page.locator('[data-ready="true"], [data-testid="load-error"]').first().waitFor({ timeout });
  }

  get graph(): Locator { return this.page.getByTestId('graph'); }
  get issues(): Locator { return this.page.getByTestId('issues'); }
  get fatal(): Locator { return this.page.getByTestId('fatal-error'); }
  get liveBadge(): Locator { return this.page.getByTestId('live-badge'); }
  get runRows(): Locator { return this.page.getByTestId('run-row'); }
  get eventRows(): Locator { return this.page.getByTestId('event-row'); }
  get eventsCount(): Locator { return this.page.getByTestId('events-count'); }
  get entries(): Locator { return this.page.getByTestId('entry'); }
  get nodeCards(): Locator { return this.page.locator('.react-flow__node [data-testid^="node-"]'); }

  node(id: string): Locator {
    return this.page.getByTestId(`node-${id}`);
  }

  async nodeIds(): Promise<string[]> {
    return this.nodeCards.evaluateAll((els) => els.map((e) => e.getAttribute('data-id') ?? ''));
  }

  async nodeStatus(id: string): Promise<string | null> {
    return this.node(id).getAttribute('data-status');
  }

  async nodeAttempts(id: string): Promise<number> {
    return Number(await this.node(id).getAttribute('data-attempts'));
  }

  async cursor(): Promise<CursorInfo> {
    const pos = this.page.getByTestId('cursor-pos');
    const [cursor, seq, total] = await Promise.all(['data-cursor', 'data-seq', 'data-total'].map((a) => pos.getAttribute(a)));
    return { cursor: Number(cursor), seq: Number(seq), total: Number(total) };
  }

  /** Presses a key on the page body (not in a field) and waits for the cursor to settle. */
  async press(key: string, times = 1): Promise<void> {
    await this.page.locator('body').focus().catch(() => {});
    for (let i = 0; i < times; i++) await this.page.keyboard.press(key);
  }

  /** Moves the cursor to just after the event with this seq, by keyboard from the start. */
  async stepToSeq(seq: number): Promise<void> {
    await this.press('Home');
    const { total } = await this.cursor();
    for (let i = 0; i < total; i++) {
      if ((await this.cursor()).seq >= seq) return;
      await this.press('ArrowRight');
    }
  }

  async tab(name: 'node' | 'session' | 'events'): Promise<void> {
    await this.page.getByTestId(`tab-${name}`).click();
  }

  async selectNode(id: string): Promise<void> {
    await this.node(id).click();
  }

  async filter(which: 'source' | 'scope' | 'type' | 'node', value: string): Promise<void> {
    await this.page.getByTestId(`filter-${which}`).selectOption(value);
  }

  async search(text: string): Promise<void> {
    await this.page.getByTestId('filter-text').fill(text);
  }

  /** Waits until the events list shows `n` rows (filters apply on React's next render, not synchronously). */
  async waitForShown(n: number, timeout = 10_000): Promise<void> {
    await this.page.waitForFunction(
      (want) => document.querySelector('[data-testid="events-count"]')?.getAttribute('data-count') === String(want),
      n,
      { timeout },
    );
  }

  async count(): Promise<{ shown: number; total: number }> {
    const el = this.eventsCount;
    return { shown: Number(await el.getAttribute('data-count')), total: Number(await el.getAttribute('data-total')) };
  }

  /** Texts of the conversation entries highlighted as the selected attempt's slice, by role. */
  async highlighted(role?: string): Promise<string[]> {
    const sel = `[data-testid="entry"][data-highlight="true"]${role ? `[data-role="${role}"]` : ''}`;
    return this.page.locator(sel).evaluateAll((els) => els.map((e) => (e.querySelector('[data-testid="message-text"]') ?? e).textContent ?? ''));
  }
}

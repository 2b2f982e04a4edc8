// The console's accessibility audit: axe-core (through @axe-core/playwright)
// with the WCAG 2.0 and 2.1 A and AA rules, run on a page as it stands. Each
// audit prints one line, `AXE <view> <count> <rule ids>`; `violations()`
// lists every one found, for the script to fail on.
import { AxeBuilder } from "@axe-core/playwright";

const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const found = [];
const reviews = [];

/** Runs axe on `page` (one view, at its current width); returns its violations. */
export async function audit(page, view, say = (line) => process.stdout.write(`${line}\n`)) {
  const result = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  const rules = result.violations.map((v) => `${v.id}×${v.nodes.length}`);
  const nodes = result.violations.reduce((n, v) => n + v.nodes.length, 0);
  const review = result.incomplete.map((v) => `${v.id}×${v.nodes.length}`);
  say(`AXE ${view} ${nodes} violations${rules.length ? ` (${rules.join(" ")})` : ""}; ${result.passes.length} rules passed; to review by hand: ${review.join(" ") || "none"}`);
  for (const v of result.violations) {
    for (const node of v.nodes) found.push(`${view}: ${v.id} (${v.impact}) at ${node.target.join(" ")}: ${node.failureSummary?.split("\n").join(" ")}`);
  }
  for (const v of result.incomplete) {
    for (const node of v.nodes) reviews.push(`${view}: ${v.id} at ${node.target.join(" ")}: ${(node.any[0] ?? node.all[0] ?? node.none[0])?.message ?? ""}`);
  }
  return result.violations;
}

export function violations() { return found; }

/** What axe could not decide by itself (to look at by hand). */
export function toReview() { return reviews; }

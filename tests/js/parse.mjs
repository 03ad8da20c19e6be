// Parse Mermaid diagrams with Mermaid's own parser; one file per argument, or "-" for
// a JSON array of texts on standard input.  Prints one JSON line per diagram:
// {"name": ..., "ok": true, "type": ...} or {"name": ..., "ok": false, "error": ...}.
// Exit status: 0 if every diagram parsed, 1 otherwise, 2 on a usage error.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

// Mermaid sanitises labels with DOMPurify, which needs a DOM even to parse.
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error("usage: node parse.mjs FILE... | -");
  process.exit(2);
}
let items;
if (args.length === 1 && args[0] === "-") {
  const texts = JSON.parse(readFileSync(0, "utf8"));
  items = texts.map((text, i) => [`stdin[${i}]`, text]);
} else {
  items = args.map((path) => [path, readFileSync(path, "utf8")]);
}
let failed = 0;
for (const [name, text] of items) {
  try {
    const result = await mermaid.parse(text);
    console.log(JSON.stringify({ name, ok: true, type: result.diagramType }));
  } catch (error) {
    failed += 1;
    console.log(JSON.stringify({ name, ok: false, error: String(error && error.message ? error.message : error) }));
  }
}
process.exit(failed ? 1 : 0);

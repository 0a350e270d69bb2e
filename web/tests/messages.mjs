// Checks the message files web/messages/<code>.json, which the pages load.
// Usage: node tests/messages.mjs          (exits non-zero on a fault)
// Any arguments (a base URL, a screenshot directory) are ignored.
//
// The rules:
// - sv.json is the reference: every other file has only keys sv.json has.
// - Every value is a non-empty string with the same {placeholders} as in
//   sv.json, and no object repeats a key.
// - Every file has the `language` section: name (in the language itself),
//   locale (for Intl and <html lang>) and dir (ltr or rtl).
// - Staff languages (sv, en: the planner map and /admin too) have every key.
// - Resident languages (fi, ar: /report, /walk, /areas) have every key
//   outside the staff-only sections listed in STAFF_ONLY.
// - Variants have every key of the sections listed for them (sv-lattlast:
//   the report page and the error messages); other keys fall back to the
//   base language (sv).
import { readFileSync, readdirSync } from 'node:fs';

const dir = new URL('../messages/', import.meta.url);

/** Sections only the staff pages use. */
const STAFF_ONLY = ['planner', 'trend', 'gap', 'admin', 'planEdit', 'analysis'];
/** Which keys each language must have. */
const RULES = {
  sv: { kind: 'staff' },
  en: { kind: 'staff' },
  fi: { kind: 'resident' },
  ar: { kind: 'resident' },
  'sv-lattlast': { kind: 'variant', sections: ['language', 'report', 'errors'] },
};

const faults = [];
const fault = (msg) => faults.push(msg);

/** Keys an object repeats (JSON.parse silently keeps the last). */
function repeatedKeys(text) {
  const tokens = text.match(/"(?:\\.|[^"\\])*"|[{}[\]:,]/g) || [];
  const stack = [];
  const repeated = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const tok = tokens[i];
    const top = stack[stack.length - 1];
    if (tok === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (tok === '[') stack.push(null);
    else if (tok === '}' || tok === ']') stack.pop();
    else if (tok === ',' && top) top.expectKey = true;
    else if (tok.startsWith('"') && top?.expectKey && tokens[i + 1] === ':') {
      const key = JSON.parse(tok);
      if (top.keys.has(key)) repeated.push(key);
      top.keys.add(key);
      top.expectKey = false;
    }
  }
  return repeated;
}

const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');

const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const all = {};
for (const file of files) {
  const code = file.replace(/\.json$/, '');
  const text = readFileSync(new URL(file, dir), 'utf8');
  try {
    all[code] = JSON.parse(text);
  } catch (e) {
    fault(`${file}: not valid JSON (${e.message})`);
    continue;
  }
  for (const k of repeatedKeys(text)) fault(`${file}: the key "${k}" appears twice in one section`);
  if (!RULES[code]) fault(`${file}: no rule for language "${code}" in tests/messages.mjs (add it to RULES)`);
}
for (const code of Object.keys(RULES)) if (!all[code]) fault(`messages/${code}.json is missing`);

const sv = all.sv || {};
for (const [code, doc] of Object.entries(all)) {
  const file = `${code}.json`;
  const rule = RULES[code];
  if (!rule) continue;
  const lang = doc.language || {};
  if (!lang.name || !lang.locale || !['ltr', 'rtl'].includes(lang.dir)) {
    fault(`${file}: "language" needs name, locale and dir ("ltr" or "rtl")`);
  }
  try {
    Intl.getCanonicalLocales(lang.locale);
  } catch {
    fault(`${file}: "${lang.locale}" is not a locale`);
  }
  // Nothing sv.json lacks (a typo, or a key no page uses).
  for (const [section, entries] of Object.entries(doc)) {
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
      fault(`${file}: "${section}" must be an object of messages`);
      continue;
    }
    for (const [key, value] of Object.entries(entries)) {
      if (!(section in sv) || !(key in sv[section])) fault(`${file}: ${section}.${key} is not in sv.json`);
      if (typeof value !== 'string' || !value.trim()) fault(`${file}: ${section}.${key} is empty`);
      else if (section !== 'language' && sv[section]?.[key] != null && placeholders(value) !== placeholders(sv[section][key])) {
        fault(`${file}: ${section}.${key} has placeholders {${placeholders(value)}}, sv.json has {${placeholders(sv[section][key])}}`);
      }
    }
  }
  // Everything the language's pages need.
  const needed = Object.keys(sv).filter((section) => {
    if (rule.kind === 'staff') return true;
    if (rule.kind === 'resident') return !STAFF_ONLY.includes(section);
    return rule.sections.includes(section);
  });
  for (const section of needed) {
    for (const key of Object.keys(sv[section])) {
      if (doc[section]?.[key] == null) fault(`${file}: ${section}.${key} is missing`);
    }
  }
}

if (faults.length) {
  console.error(`FAIL: ${faults.length} problem(s) in the message files:\n  ${faults.join('\n  ')}`);
  process.exitCode = 1;
} else {
  const counts = Object.fromEntries(Object.entries(all).map(([c, d]) => [c, Object.values(d).reduce((n, s) => n + Object.keys(s).length, 0)]));
  console.log(JSON.stringify({ messages: counts }));
}

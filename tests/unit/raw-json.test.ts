import assert from "node:assert/strict";
import { test } from "node:test";
import { memberText, stringifyWithRaw } from "../../lib/raw-json";

test("memberText returns a member's source text exactly, whatever it holds", () => {
  const text = ` {"a": 1, "payload" :\t{"z": [1, "]}\\"", {"x": "}"}], "big": 12345678901234567890} , "b": "payload"}`;
  assert.equal(memberText(text, "payload"), `{"z": [1, "]}\\"", {"x": "}"}], "big": 12345678901234567890}`);
  assert.equal(memberText(text, "b"), `"payload"`);
  assert.equal(memberText(text, "a"), "1");
  assert.equal(memberText(text, "missing"), undefined);
});

test("memberText takes the last of a repeated key, as JSON.parse does, and reads escaped key names", () => {
  assert.equal(memberText(`{"payload": 1, "payload": 1e400}`, "payload"), "1e400");
  assert.equal(memberText(`{"pay\\u006coad": -0}`, "payload"), "-0");
});

test("memberText skips a byte-order mark and gives undefined for a body that is not an object", () => {
  assert.equal(memberText(`\uFEFF{"payload":null}`, "payload"), "null");
  assert.equal(memberText(`[{"payload":1}]`, "payload"), undefined);
  assert.equal(memberText(`"payload"`, "payload"), undefined);
});

test("stringifyWithRaw writes the raw members verbatim and cannot be fooled by a string that looks like its placeholder", () => {
  const text = stringifyWithRaw({ id: "t1", payload: null, note: "raw-json-" }, { payload: `{"b": 2, "a": 1e400}` });
  assert.equal(text, `{"id":"t1","payload":{"b": 2, "a": 1e400},"note":"raw-json-"}`);
  // A `$&` in the raw text is not a replacement pattern.
  assert.equal(stringifyWithRaw({ payload: null }, { payload: `"$&$1"` }), `{"payload":"$&$1"}`);
});

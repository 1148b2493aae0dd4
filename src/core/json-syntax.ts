/** JSON syntax errors with line and column (JSON.parse in Node 20 does not always say where). */

/** Scans invalid JSON and says where and why it fails: `line 3, column 7: expected ...`. */
export function locateSyntaxError(text: string): string {
  let pos = 0;
  const fail = (reason: string, at = pos): never => {
    throw Object.assign(new Error(reason), { at });
  };
  const ws = () => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++;
  };
  const describe = () => (pos >= text.length ? 'end of file' : JSON.stringify(text[pos]));
  const literal = (word: string) => {
    if (text.startsWith(word, pos)) pos += word.length;
    else fail(`unexpected ${describe()}; expected a value (a string in double quotes, a number, true, false, null, an object or an array)`);
  };
  const string = () => {
    const start = pos++;
    while (pos < text.length) {
      const c = text[pos];
      if (c === '"') {
        pos++;
        return;
      }
      if (c === '\n') fail('this string is not closed before the end of the line; add the closing double quote', start);
      if (c < ' ') fail('control characters are not allowed inside strings; escape them (\\t, \\n)');
      if (c === '\\') {
        const e = text[pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) fail('\\u must be followed by four hex digits');
          pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail(`invalid escape \\${e ?? ''}; use \\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX`);
        pos += 2;
        continue;
      }
      pos++;
    }
    fail('this string is not closed; add the closing double quote', start);
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(pos));
    if (!m) fail(`invalid number starting with ${describe()}`);
    pos += m![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 200) fail('the document nests too deeply');
    ws();
    const c = text[pos];
    if (c === '{') {
      pos++;
      ws();
      if (text[pos] === '}') return void pos++;
      for (;;) {
        ws();
        if (text[pos] === '}') fail('a comma before } is not allowed in JSON (trailing comma); remove it');
        if (text[pos] !== '"') fail(`unexpected ${describe()}; expected a property name in double quotes`);
        string();
        ws();
        if (text[pos] !== ':') fail(`unexpected ${describe()}; expected ":" after the property name`);
        pos++;
        value(depth + 1);
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') return void pos++;
        fail(`unexpected ${describe()}; expected "," or "}" after a property value`);
      }
    }
    if (c === '[') {
      pos++;
      ws();
      if (text[pos] === ']') return void pos++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[pos] === ',') {
          pos++;
          ws();
          if (text[pos] === ']') fail('a comma before ] is not allowed in JSON (trailing comma); remove it');
          continue;
        }
        if (text[pos] === ']') return void pos++;
        fail(`unexpected ${describe()}; expected "," or "]" after an array element`);
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === "'") fail('strings must use double quotes, not single quotes');
    if (c === '/') fail('comments are not allowed in JSON; remove them');
    if (c === undefined) fail(text.trim() === '' ? 'the file is empty; it must hold a JSON object' : 'unexpected end of the file; a value is missing or a bracket is not closed');
    literal('\0');
  };
  try {
    value(0);
    ws();
    if (pos < text.length) fail(`unexpected ${describe()} after the end of the JSON document; remove it (or a closing bracket is extra)`);
    return 'the file is not valid JSON';
  } catch (err) {
    const at = (err as { at?: number }).at ?? pos;
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    return `line ${line}, column ${column}: ${(err as Error).message}`;
  }
}

// GitLab's `rules:if` / `only:variables` expression language, exactly: tokens `( ) == != =~
// !~ && ||`, `$NAME`, '…' and "…" strings without escapes, `/re/flags` and `null`; at most
// 100 tokens; `&&` binds tighter than `||`; values follow Ruby (nil and false are falsy,
// `&&`/`||` return an operand) and the whole expression is true when its value is present.
import { compileRe2, parseRegexLiteral, RegexSyntaxError } from './regex.js';

export class ExpressionError extends Error {}

type Token =
  | { kind: 'open' | 'close' }
  | { kind: 'op'; op: '==' | '!=' | '=~' | '!~' | '&&' | '||' }
  | { kind: 'variable'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'pattern'; regex: RegExp }
  | { kind: 'null' };

export type Expr =
  | { kind: 'variable'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'pattern'; regex: RegExp }
  | { kind: 'null' }
  | { kind: 'binary'; op: '==' | '!=' | '=~' | '!~' | '&&' | '||'; left: Expr; right: Expr };

type Value = string | null | boolean | RegExp;

const MAX_TOKENS = 100;
const PRECEDENCE: Record<string, number> = { '==': 10, '!=': 10, '=~': 10, '!~': 10, '&&': 11, '||': 12 };

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (true) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (i >= text.length) return tokens;
    if (tokens.length >= MAX_TOKENS) throw new ExpressionError(`too many tokens (at most ${MAX_TOKENS})`);
    const rest = text.slice(i);
    let m: RegExpExecArray | null;
    if (rest[0] === '(' || rest[0] === ')') {
      tokens.push({ kind: rest[0] === '(' ? 'open' : 'close' });
      i++;
    } else if ((m = /^\$(\w+)/.exec(rest))) {
      tokens.push({ kind: 'variable', name: m[1] });
      i += m[0].length;
    } else if ((m = /^"([^"]*)"|^'([^']*)'/.exec(rest))) {
      tokens.push({ kind: 'string', value: m[1] ?? m[2] });
      i += m[0].length;
    } else if ((m = /^\/(?:[^/]|\\\/)+[^\\]\/[ismU]*/.exec(rest))) {
      tokens.push({ kind: 'pattern', regex: compilePattern(m[0]) });
      i += m[0].length;
    } else if (rest.startsWith('null')) {
      tokens.push({ kind: 'null' });
      i += 4;
    } else if ((m = /^(==|!=|=~|!~|&&|\|\|)/.exec(rest))) {
      tokens.push({ kind: 'op', op: m[1] as '==' });
      i += 2;
    } else {
      throw new ExpressionError(`unexpected "${rest.slice(0, 12)}"${rest.startsWith('${') ? ' (write $VAR, not ${VAR}, in rules:if)' : ''}`);
    }
  }
}

function compilePattern(literal: string): RegExp {
  const parsed = parseRegexLiteral(literal);
  if (!parsed) throw new ExpressionError(`invalid regular expression ${literal}`);
  try {
    return compileRe2(parsed.source, parsed.flags);
  } catch (e) {
    if (e instanceof RegexSyntaxError) throw new ExpressionError(e.message);
    throw e;
  }
}

/** Parses an expression; throws ExpressionError with a reason on bad syntax. */
export function parseExpression(text: string): Expr {
  const tokens = tokenize(text);
  if (tokens.length === 0) throw new ExpressionError('the expression is empty');
  let pos = 0;
  const operand = (): Expr => {
    const t = tokens[pos++];
    if (!t) throw new ExpressionError('the expression ends too early');
    if (t.kind === 'open') {
      const inner = binary(99);
      if (tokens[pos]?.kind !== 'close') throw new ExpressionError('unmatched parenthesis');
      pos++;
      return inner;
    }
    if (t.kind === 'variable' || t.kind === 'string' || t.kind === 'pattern' || t.kind === 'null') return t;
    throw new ExpressionError(`unexpected ${t.kind === 'op' ? `operator ${t.op}` : '")"'}`);
  };
  // Precedence climbing; lower numbers bind tighter, all operators are left-associative.
  const binary = (limit: number): Expr => {
    let left = operand();
    while (true) {
      const t = tokens[pos];
      if (!t || t.kind !== 'op' || PRECEDENCE[t.op] > limit) return left;
      pos++;
      const right = binary(PRECEDENCE[t.op] - 1);
      left = { kind: 'binary', op: t.op, left, right };
    }
  };
  const tree = binary(99);
  if (pos < tokens.length) {
    const t = tokens[pos];
    throw new ExpressionError(t.kind === 'close' ? 'unmatched parenthesis' : 'two values without an operator between them');
  }
  return tree;
}

export type VariableLookup = (name: string) => string | undefined;

function evaluate(expr: Expr, lookup: VariableLookup): Value {
  switch (expr.kind) {
    case 'variable':
      return lookup(expr.name) ?? null;
    case 'string':
      return expr.value;
    case 'pattern':
      return expr.regex;
    case 'null':
      return null;
    case 'binary': {
      const left = evaluate(expr.left, lookup);
      if (expr.op === '&&') return truthy(left) ? evaluate(expr.right, lookup) : left;
      if (expr.op === '||') return truthy(left) ? left : evaluate(expr.right, lookup);
      const right = evaluate(expr.right, lookup);
      if (expr.op === '==') return same(left, right);
      if (expr.op === '!=') return !same(left, right);
      const matched = matches(left, right);
      return expr.op === '=~' ? matched : !matched;
    }
  }
}

/** Ruby truthiness: only nil and false are false. */
const truthy = (v: Value): boolean => v !== null && v !== false;

/** Rails `present?`: not nil, not false, not a blank string. */
const present = (v: Value): boolean => v !== null && v !== false && !(typeof v === 'string' && /^\s*$/.test(v));

function same(a: Value, b: Value): boolean {
  if (a instanceof RegExp || b instanceof RegExp) return a instanceof RegExp && b instanceof RegExp && a.source === b.source && a.flags === b.flags;
  return a === b;
}

function matches(left: Value, right: Value): boolean {
  if (right === null || right === false) return false;
  const text = left === null ? '' : String(left instanceof RegExp ? left.source : left);
  if (right instanceof RegExp) return right.test(text);
  if (right === true) return false;
  // A variable holding "/re/flags" is a pattern; any other string is searched for the text.
  const literal = parseRegexLiteral(right);
  if (literal) {
    try {
      return compileRe2(literal.source, literal.flags).test(text);
    } catch {
      return false;
    }
  }
  return right.includes(text);
}

/** True when the expression holds; a malformed expression is false, as in GitLab. */
export function evaluateExpression(text: string, lookup: VariableLookup): boolean {
  let tree: Expr;
  try {
    tree = parseExpression(text);
  } catch {
    return false;
  }
  return present(evaluate(tree, lookup));
}

export { evaluate as evaluateTree, present as isPresent };

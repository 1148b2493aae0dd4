/** The rules:if expression language, slugs and expansion, checked against GitLab's behaviour. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateExpression, expandString, parseExpression, slugify } from '../../src/ci/index.js';
import { globMatch } from '../../src/ci/glob.js';

const vars: Record<string, string> = { EMPTY: '', BLANK: '  ', BRANCH: 'main', REF: 'release/1.2', RE_VAR: '/^rel/i', A: '$B', NUM: '23' };
const lookup = (n: string) => vars[n];

describe('rules:if expressions', () => {
  const table: Array<[string, boolean]> = [
    ['$BRANCH == "main"', true],
    ["$BRANCH == 'main'", true],
    ['$BRANCH != "main"', false],
    ['$UNDEFINED == null', true],
    ['$EMPTY == null', false],
    ['$EMPTY == ""', true],
    ['$UNDEFINED == ""', false],
    ['$BRANCH', true],
    ['$EMPTY', false],
    ['$BLANK', false], // Rails present?: whitespace is blank
    ['$UNDEFINED', false],
    ['$A == null', false], // values are raw: A is the literal "$B"
    ['$A', true],
    ['$REF =~ /^release\\//', true],
    ['$REF =~ /^RELEASE/', false],
    ['$REF =~ /^RELEASE/i', true],
    ['$REF =~ /1\\.2$/', true],
    ['$REF =~ /$BRANCH/', false], // no expansion inside a regex literal
    ['$REF =~ $RE_VAR', true], // a variable holding /re/flags is a pattern
    ['$UNDEFINED !~ /xy/', true], // an undefined left side is ""
    ['$BRANCH =~ /m/', false], // a literal needs two characters between the slashes
    ['$UNDEFINED =~ /^$/', true],
    ['$NUM =~ "1234"', true], // a plain string is searched for the text
    ['$REF =~ /\\Arelease/', true],
    ['$REF =~ /(?P<major>\\d)\\.(\\d)/', true],
    ['$REF =~ /[[:digit:]]+/', true],
    ['$BRANCH == "main" || $BRANCH == "dev" && $UNDEFINED', true], // && binds tighter
    ['($BRANCH == "main" || $BRANCH == "dev") && $UNDEFINED', false],
    ['$BRANCH == "x" || $EMPTY', false],
    ['$EMPTY && $BRANCH', true], // Ruby: "" is truthy for &&, the result "main" is present
    ['$UNDEFINED && $BRANCH', false],
    ['${BRANCH} == "main"', false], // ${} is a syntax error, and errors are false
    ['$BRANCH "main"', false],
    ['$BRANCH == ', false],
    ['', false],
  ];
  for (const [expr, expected] of table) {
    test(`${expr || '(empty)'} → ${expected}`, () => assert.equal(evaluateExpression(expr, lookup), expected));
  }

  test('syntax errors have reasons; the token limit is 100', () => {
    assert.throws(() => parseExpression('${X} == "a"'), /write \$VAR/);
    assert.throws(() => parseExpression('($X == "a"'), /parenthesis/);
    assert.throws(() => parseExpression('$X == /a/'), /invalid regular expression|unexpected/);
    const many = Array.from({ length: 51 }, () => '$X').join(' || ');
    assert.throws(() => parseExpression(many), /too many tokens/);
    assert.doesNotThrow(() => parseExpression(Array.from({ length: 50 }, () => '$X').join(' || ')));
  });
});

describe('slugs and expansion', () => {
  test('CI_COMMIT_REF_SLUG keeps runs of dashes and cuts before trimming', () => {
    assert.equal(slugify('Feature/Foo__Bar.X'), 'feature-foo--bar-x');
    assert.equal(slugify('-lead-'), 'lead');
    assert.equal(slugify(`${'a'.repeat(62)}/b`), 'a'.repeat(62));
  });
  test('expansion: $VAR, ${VAR}, %VAR%, $$ and unknown names left alone', () => {
    const v: Record<string, string> = { X: 'x', FLAGS: '-al' };
    assert.equal(expandString('ls "$FLAGS" $$TMP_DIR ${X}%X% $NOPE', (n) => v[n]), 'ls "-al" $TMP_DIR xx $NOPE');
  });
  test('globs: * stops at /, **/ spans directories, {a,b}, dotfiles match', () => {
    assert.equal(globMatch('*.md', 'docs/a.md'), false);
    assert.equal(globMatch('docs/**/*.md', 'docs/a.md'), true);
    assert.equal(globMatch('docs/**/*.md', 'docs/x/y/a.md'), true);
    assert.equal(globMatch('src/{a,b}.ts', 'src/b.ts'), true);
    assert.equal(globMatch('*', '.env'), true);
  });
});

// Validates an AsyncAPI document with the AsyncAPI project's own parser
// (@asyncapi/parser, the one @asyncapi/cli validate uses), resolving its $refs to
// the JSON Schemas beside it. Prints every diagnostic; exits 1 when one is an
// error, when the document does not parse, or when it refers to anything over the
// network (the document must be complete with the repository's files).
//
//   node scripts/asyncapi/validate.mjs MODULES_DIR [schemas/asyncapi.yaml]
//
// MODULES_DIR holds node_modules with the parser, installed from this directory's
// package-lock.json (scripts/test does: npm ci into a cache outside the repository).
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';

const [modulesDir, file = 'schemas/asyncapi.yaml'] = process.argv.slice(2);
if (!modulesDir) {
  console.error('usage: node validate.mjs MODULES_DIR [ASYNCAPI_FILE]');
  process.exit(2);
}
const require = createRequire(path.resolve(modulesDir, 'package.json'));
const { Parser, fromFile, DiagnosticSeverity } = require('@asyncapi/parser');
const { version } = require('@asyncapi/parser/package.json');

// Remote references are answered with an empty schema and reported: the defaults
// would fetch them, which makes CI depend on the network and hides a missing file.
const remote = [];
const refuse = (uri) => {
  remote.push(uri.toString());
  return '{}';
};
const parser = new Parser({
  __unstable: {
    resolver: {
      cache: false,
      resolvers: [
        { schema: 'http', order: 1, read: refuse },
        { schema: 'https', order: 1, read: refuse },
      ],
    },
  },
});

const names = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const { document, diagnostics } = await fromFile(parser, path.resolve(file)).parse();
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === DiagnosticSeverity.Error) errors++;
  const where = d.path && d.path.length ? d.path.join('/') : '(root)';
  const line = d.range ? `:${d.range.start.line + 1}` : '';
  const src = d.source ? path.relative(process.cwd(), d.source) : file;
  console.log(`${names[d.severity] ?? d.severity} ${src}${line} ${where}: ${d.message} [${d.code}]`);
}
for (const uri of remote) {
  console.log(`error ${file}: refers to ${uri} over the network; refer to a file in the repository instead`);
  errors++;
}
if (!document) {
  console.log(`error ${file}: the AsyncAPI parser ${version} did not produce a document`);
  errors++;
}
if (errors > 0) {
  console.error(`${file}: ${errors} error(s) (@asyncapi/parser ${version})`);
  process.exit(1);
}
const channels = document.channels().all().map((c) => c.address());
console.log(`${file}: valid AsyncAPI ${document.version()} (@asyncapi/parser ${version}); ` +
  `${channels.length} channels, ${document.operations().length} operations, ${document.messages().length} messages, ` +
  `${diagnostics.length} non-error diagnostic(s)`);

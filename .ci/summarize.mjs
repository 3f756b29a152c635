// Sums vitest JSON reports into the one line CI reads: "N passed, N failed".
// A run that left no report (it crashed before reporting) counts as one failure.
import { existsSync, readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
	if (!existsSync(file)) {
		console.error(`${file}: no report (the run crashed before reporting)`);
		failed += 1;
		continue;
	}
	const report = JSON.parse(readFileSync(file, "utf8"));
	passed += report.numPassedTests;
	failed += report.numFailedTests;
	// A file that failed to load has no failed tests but must still fail the run.
	failed += report.testResults.filter((r) => r.status === "failed" && r.assertionResults.length === 0).length;
	console.error(`${file}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
}
console.log(`${passed} passed, ${failed} failed`);

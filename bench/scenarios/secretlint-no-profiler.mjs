// Preload (`node --import`) that switches off secretlint's always-on profiler. The profiler
// keeps every performance mark and, for each one, searches all of those kept before it, so a
// run costs time quadratic in the number of files (secretlint issues #1633, #1653). Marks
// become no-ops; secretlint's rules and results are untouched.
import { secretLintProfiler } from '@secretlint/profiler';

secretLintProfiler.mark = () => {};

export { writeReports, type WriteReportsOptions, type WrittenReports } from './write-reports.ts';
export { readRunDir, readRunSamples, parseRunRecord, runRecordSchema } from './run-dir.ts';
export { renderHtmlReport, type HtmlReportInput } from './html-report.ts';
export { renderJUnit } from './junit.ts';
export { buildChartData, type Chart, type ChartData, type ChartFault, type ChartLine } from './chart-data.ts';
export {
  writeAllureResults,
  generateAllureHtml,
  executorInfo,
  loadSummaryText,
  timelineText,
  type AllureOptions,
} from './allure.ts';
export {
  renderPdfAndPng,
  launchChromium,
  chromiumPath,
  findChromium,
  type FindChromiumOptions,
  type RenderedFiles,
} from './render-pdf.ts';
export {
  compareRuns,
  renderComparisonText,
  renderComparisonHtml,
  judge,
  runLabel,
  type ComparedRun,
  type Comparison,
  type ComparisonRow,
} from './compare.ts';
export { chartAssets, type ChartAssets } from './assets.ts';
export { formatMetric, formatPoints } from './format.ts';

// The printable area-analysis report: its print button (the page's
// Content-Security-Policy allows no inline script).
document.getElementById('print')?.addEventListener('click', () => window.print());

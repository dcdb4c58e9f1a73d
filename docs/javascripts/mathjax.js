// MathJax 3 for the pages (pymdownx.arithmatex writes \( \) and \[ \]) and the notebooks ($ and $$)
window.MathJax = {
  tex: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {skipHtmlTags: ["script", "noscript", "style", "textarea", "pre", "code"]}
};
if (typeof document$ !== "undefined") {  // Material's instant navigation: typeset each new page
  document$.subscribe(() => { if (window.MathJax && MathJax.typesetPromise) { MathJax.typesetPromise(); } });
}

// Vega puts a timeline plot's x ticks 25-40 px apart, so labels such as "1.75" ran together
// ("1.751.80"): after each drawing, a label closer than MIN_GAP px to the last one kept is
// hidden (left to right), as Vega's own overlap check would if the labels touched.
if (!window.timelineLabelsSpaced) {
  window.timelineLabelsSpaced = true;
  // Gradio 6.31 gives every plot's spec a Vega-Lite v5.17.0 $schema, but bundles Vega-Lite 6,
  // which then warns on every drawing (the spec draws as it should; no setting changes it):
  // that one message, word for word, is left out of the console; every other passes.
  const warn = console.warn.bind(console);
  const GRADIO_SCHEMA = new RegExp('^(WARN )?The input spec uses Vega-Lite v5\\.17\\.0, ' +
                                   'but the current version of Vega-Lite is v6\\.');
  console.warn = (...args) => { if (!GRADIO_SCHEMA.test(args.join(' '))) warn(...args); };
  const MIN_GAP = 12;  // px: a digit and a half
  const space = plot => {
    const labels = [...plot.querySelectorAll('[aria-label^="X-axis"] .role-axis-label text')];
    labels.forEach(label => { label.style.display = ''; });
    const shown = labels.filter(label => label.getAttribute('opacity') !== '0')
      .map(label => [label, label.getBoundingClientRect()]).filter(([, box]) => box.width > 0)
      .sort((a, b) => a[1].left - b[1].left);
    let right = -Infinity;
    for (const [label, box] of shown) {
      if (box.left < right + MIN_GAP) label.style.display = 'none';
      else right = box.right;
    }
  };
  const waiting = new Set();
  new MutationObserver(changes => {
    for (const change of changes) {
      const plot = change.target instanceof Element && change.target.closest('.timeline');
      if (plot && !waiting.has(plot)) {
        waiting.add(plot);
        requestAnimationFrame(() => { waiting.delete(plot); space(plot); });
      }
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true,
                             attributes: true, attributeFilter: ['transform', 'opacity']});
}

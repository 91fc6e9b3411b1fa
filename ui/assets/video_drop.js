() => {
  // A video dropped on the Video tab's upload box while it holds one replaces it (Gradio's
  // file box takes a drop only when empty): the box is cleared, then given the new file.
  if (window.videoDropReplaces) return;
  window.videoDropReplaces = true;
  const filledBox = event => {
    const box = event.target instanceof Element && event.target.closest('.video-input');
    return box && !box.querySelector('.upload-container') ? box : null;
  };
  document.addEventListener('dragover', event => {
    if (filledBox(event)) event.preventDefault();  // a drop here, not the browser opening it
  }, true);
  document.addEventListener('drop', async event => {
    const box = filledBox(event), files = [...(event.dataTransfer?.files || [])];
    if (!box || !files.length) return;
    event.preventDefault(); event.stopPropagation();
    box.querySelector('button[aria-label=Clear]')?.click();
    for (let i = 0; i < 100 && !box.querySelector('.upload-container'); i++)
      await new Promise(done => setTimeout(done, 30));
    const data = new DataTransfer();
    files.forEach(file => data.items.add(file));
    box.querySelector('.upload-container')?.dispatchEvent(
      new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: data}));
  }, true);
}

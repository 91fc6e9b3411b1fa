async () => {
  const panel = [...document.querySelectorAll('.results')].find(e => e.offsetParent !== null);
  if (!panel) return;
  // A picture shown just now may still be loading: the page is not yet tall enough to bring
  // the panel to the top. Wait for it (2 s at most).
  for (let i = 0; i < 40; i++) {
    const pictures = [...panel.querySelectorAll('img, video')].filter(e => e.offsetParent !== null);
    if (pictures.length && pictures.every(e => e.tagName === 'VIDEO' ? e.readyState >= 1
                                                  : e.complete && e.naturalWidth > 0)) break;
    await new Promise(done => setTimeout(done, 50));
  }
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
  const top = panel.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight * 0.5)
    panel.scrollIntoView({behavior: 'smooth', block: 'start'});
}

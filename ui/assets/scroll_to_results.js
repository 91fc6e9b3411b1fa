() => {
  const panel = [...document.querySelectorAll('.results')].find(e => e.offsetParent !== null);
  const top = panel ? panel.getBoundingClientRect().top : 0;
  if (panel && (top < 0 || top > window.innerHeight * 0.5))
    panel.scrollIntoView({behavior: 'smooth', block: 'start'});
}

(...args) => {
  const d = new Date(), z = -d.getTimezoneOffset();
  const p = n => String(Math.trunc(Math.abs(n))).padStart(2, '0');
  args[{{COUNT}} - 1] = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` +
    `T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` +
    `${z < 0 ? '-' : '+'}${p(z / 60)}:${p(z % 60)}`;
  return args.slice(0, {{COUNT}});
}

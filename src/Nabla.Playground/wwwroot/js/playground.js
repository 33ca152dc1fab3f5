// Browser side of the playground: the drawing pad and pixel blits. All the mathematics is in .NET (Nabla).
window.nablaPlayground = (function () {
  const timings = { predictRoundTripMs: [] };

  function initPad(canvas, dotnet) {
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    clearPad(canvas);
    let drawing = false, last = null, busy = false, dirty = false;

    function pos(e) {
      const r = canvas.getBoundingClientRect();
      return { x: (e.clientX - r.left) * canvas.width / r.width, y: (e.clientY - r.top) * canvas.height / r.height };
    }
    async function send() {
      if (busy) { dirty = true; return; }
      busy = true;
      do {
        dirty = false;
        const img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        const gray = new Uint8Array(canvas.width * canvas.height);
        for (let i = 0; i < gray.length; i++) gray[i] = img[4 * i];
        const t0 = performance.now();
        await dotnet.invokeMethodAsync('Predict', gray);
        timings.predictRoundTripMs.push(performance.now() - t0);
      } while (dirty);
      busy = false;
    }
    canvas.addEventListener('pointerdown', e => {
      drawing = true; last = pos(e);
      canvas.setPointerCapture(e.pointerId);
      ctx.beginPath(); ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fill();
      e.preventDefault();
    });
    canvas.addEventListener('pointermove', e => {
      if (!drawing) return;
      const p = pos(e);
      ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke();
      last = p;
      send();
      e.preventDefault();
    });
    const end = e => { if (drawing) { drawing = false; send(); } };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    canvas.style.touchAction = 'none';
  }

  function clearPad(canvas) {
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = '#000'; ctx.fillStyle = '#000';
    ctx.lineWidth = Math.round(canvas.width / 14); ctx.lineCap = 'round'; ctx.lineJoin = 'round';
  }

  // Gray values (0 = black … 255 = white), w×h, scaled up to the canvas without smoothing.
  function drawGray(canvas, bytes, w, h) {
    const img = new ImageData(w, h);
    for (let i = 0; i < w * h; i++) { const v = bytes[i]; img.data[4 * i] = v; img.data[4 * i + 1] = v; img.data[4 * i + 2] = v; img.data[4 * i + 3] = 255; }
    blit(canvas, img, false);
  }

  // RGBA bytes, w×h, scaled up to the canvas with smoothing (the decision field).
  function drawRgba(canvas, bytes, w, h) {
    blit(canvas, new ImageData(new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, w * h * 4), w, h), true);
  }

  // The decision field (RGBA, n×n) and the data points: x, y in [0, 1] of the view (y down), class index.
  function drawField(canvas, bytes, n, points, colors, radius) {
    drawRgba(canvas, bytes, n, n);
    const ctx = canvas.getContext('2d');
    ctx.lineWidth = 1; ctx.strokeStyle = '#fff';
    for (let i = 0; i < points.length; i += 3) {
      ctx.beginPath();
      ctx.arc(points[i] * canvas.width, points[i + 1] * canvas.height, radius, 0, 2 * Math.PI);
      ctx.fillStyle = colors[points[i + 2]]; ctx.fill(); ctx.stroke();
    }
  }

  function blit(canvas, img, smooth) {
    const off = document.createElement('canvas');
    off.width = img.width; off.height = img.height;
    off.getContext('2d').putImageData(img, 0, 0);
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingEnabled = smooth;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  }

  function nextFrame() { return new Promise(resolve => requestAnimationFrame(() => resolve())); }

  return { initPad, clearPad, drawGray, drawRgba, drawField, nextFrame, timings };
})();

// deploywatch dashboard: plots (uPlot), copy buttons and the overview's refresh. Everything works without it.
(function () {
  "use strict";

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
  }

  var COLOURS = ["--link", "--warning", "--ok", "--unknown"];

  function bandsPlugin(data) {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx;
          [["warn", "--warning"], ["critical", "--critical"]].forEach(function (pair) {
            var bound = data[pair[0]];
            if (bound === null || bound === undefined) { return; }
            var y = u.valToPos(bound, "y", true);
            ctx.save();
            ctx.strokeStyle = css(pair[1]);
            ctx.setLineDash([6, 4]);
            ctx.lineWidth = 1.5;
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.restore();
          });
        }],
        draw: [function (u) {
          var marks = data.anomalies || [];
          if (!marks.length) { return; }
          var ctx = u.ctx;
          ctx.save();
          ctx.fillStyle = css("--critical");
          marks.forEach(function (t) {
            var i = data.x.indexOf(t);
            var v = i >= 0 ? data.series[0].values[i] : null;
            if (v === null || v === undefined) { return; }
            ctx.beginPath();
            ctx.arc(u.valToPos(t, "x", true), u.valToPos(v, "y", true), 6, 0, 2 * Math.PI);
            ctx.fill();
          });
          ctx.restore();
        }]
      }
    };
  }

  function drawPlot(figure) {
    if (typeof uPlot === "undefined" || figure.dataset.drawn) { return; }
    var data = JSON.parse(figure.dataset.plot);
    var series = [{}];
    data.series.forEach(function (s, i) {
      series.push({label: s.label, stroke: css(COLOURS[i % COLOURS.length]), width: 2, spanGaps: true,
                   points: {show: data.x.length < 60}});
    });
    var scales = {x: {time: true}};
    if (data.min !== undefined) { scales.y = {range: [data.min, data.max]}; }
    if (data.kind === "metric") {
      var values = data.series[0].values.filter(function (v) { return v !== null; });
      [data.warn, data.critical].forEach(function (b) { if (b !== null && b !== undefined) { values.push(b); } });
      if (values.length) {
        var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values), pad = (hi - lo) * 0.1 || 1;
        scales.y = {range: [lo - pad, hi + pad]};
      }
    }
    var axis = {stroke: css("--muted"), grid: {stroke: css("--line"), width: 1}, ticks: {stroke: css("--line")}};
    var opts = {width: Math.max(300, Math.min(figure.clientWidth || 800, 1100)), height: 240, series: series,
                scales: scales, axes: [axis, axis], plugins: data.kind === "metric" ? [bandsPlugin(data)] : []};
    var columns = [data.x].concat(data.series.map(function (s) { return s.values; }));
    figure.dataset.drawn = "1";
    new uPlot(opts, columns, figure);
  }

  function enhance(root) {
    root.querySelectorAll("figure.plot[data-plot]").forEach(drawPlot);
    root.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var text = button.dataset.copy;
        var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text).then(done, function () { button.textContent = "Copy failed"; });
        } else {
          button.textContent = "Copy failed";
        }
      });
    });
  }

  function busy(container) {
    var active = document.activeElement;
    return (active && container.contains(active) && /INPUT|TEXTAREA|SELECT/.test(active.tagName)) ||
      container.querySelector("details[open]") !== null;
  }

  function refresher(container) {
    var every = parseInt(container.dataset.every, 10) * 1000;
    setInterval(function () {
      if (document.hidden || busy(container)) { return; }
      fetch(container.dataset.refresh, {credentials: "same-origin", headers: {"Accept": "text/html"}})
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (text) {
          if (text === null) { return; }
          var parsed = new DOMParser().parseFromString(text, "text/html");
          var fresh = parsed.body;
          if (!fresh) { return; }
          container.replaceChildren.apply(container, Array.prototype.slice.call(fresh.childNodes));
          container.dataset.refreshedAt = String(Date.now());
          enhance(container);
        })
        .catch(function () { /* the next tick tries again */ });
    }, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    document.querySelectorAll("[data-refresh]").forEach(refresher);
  });
}());

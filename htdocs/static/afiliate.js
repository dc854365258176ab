/* mod_afiliate: progressive enhancement only; every page works without it. */
(function () {
  "use strict";

  // Show the processing message and disable the buttons so a double click
  // cannot submit twice.
  document.querySelectorAll("form[data-procesando]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (form.dataset.enviado) { ev.preventDefault(); return; }
      var submitter = ev.submitter;
      if (submitter && submitter.name === "aceptar") { return; }
      form.dataset.enviado = "1";
      var status = form.querySelector(".procesando");
      if (status) { status.textContent = form.dataset.procesando; }
      setTimeout(function () {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });

  // Move focus to the error summary so screen readers announce it.
  var resumen = document.getElementById("resumen-errores");
  if (resumen) { resumen.focus(); }

  // Código Postal → Aceptar fills Estado, Municipio and the Colonia list.
  var form = document.getElementById("form-domicilio");
  if (!form || !window.fetch) { return; }
  var cp = form.querySelector("#cp");
  var aceptar = form.querySelector("button[name=aceptar]");
  var estado = form.querySelector("#estado");
  var municipio = form.querySelector("#municipio");
  var colonia = form.querySelector("#colonia");
  var status = form.querySelector(".procesando");
  var base = form.getAttribute("action").replace(/\/domicilio$/, "");

  aceptar.addEventListener("click", function (ev) {
    ev.preventDefault();
    var value = cp.value.trim();
    if (!/^[0-9]{5}$/.test(value)) {
      status.textContent = "El Código Postal debe tener 5 dígitos.";
      cp.focus();
      return;
    }
    status.textContent = "Buscando el Código Postal…";
    fetch(base + "/cp/" + value, { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, json: j }; }); })
      .then(function (res) {
        colonia.querySelectorAll("option:not([value=''])").forEach(function (o) { o.remove(); });
        if (!res.ok || res.json.umf === false) {
          estado.value = res.ok ? res.json.estado : "";
          municipio.value = res.ok ? res.json.municipio : "";
          status.textContent = res.json.error || res.json.mensaje;
          return;
        }
        estado.value = res.json.estado;
        municipio.value = res.json.municipio;
        res.json.colonias.forEach(function (nombre) {
          var o = document.createElement("option");
          o.value = nombre;
          o.textContent = nombre;
          colonia.appendChild(o);
        });
        if (res.json.colonias.length === 1) { colonia.selectedIndex = 1; }
        status.textContent = "Código Postal localizado: " + res.json.municipio + ", " +
          res.json.estado + ". Selecciona tu colonia.";
        colonia.focus();
      })
      .catch(function () {
        status.textContent = "No fue posible consultar el Código Postal. Intenta nuevamente.";
      });
  });
})();

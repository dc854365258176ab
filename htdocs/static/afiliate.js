/* mod_afiliate: progressive enhancement only; every page works without it.
 * Served as a file (the pages' Content-Security-Policy allows no inline script). */
(function () {
  "use strict";

  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  // Show the processing message and disable the buttons so a double click
  // cannot submit twice.
  each(document.querySelectorAll("form[data-procesando]"), function (form) {
    form.addEventListener("submit", function (ev) {
      if (form.getAttribute("data-enviado")) { ev.preventDefault(); return; }
      var submitter = ev.submitter;
      if (submitter && submitter.name === "aceptar") { return; }
      form.setAttribute("data-enviado", "1");
      form.setAttribute("aria-busy", "true");
      var status = form.querySelector(".procesando");
      if (status) { status.textContent = form.getAttribute("data-procesando"); }
      // Disabled after the submission has started, so the button that was
      // pressed is still sent with the form.
      setTimeout(function () {
        each(form.querySelectorAll("button"), function (b) { b.disabled = true; });
      }, 0);
    });
  });

  // Back to a page from the browser's history: the form can be sent again.
  window.addEventListener("pageshow", function (ev) {
    if (!ev.persisted) { return; }
    each(document.querySelectorAll("form[data-enviado]"), function (form) {
      form.removeAttribute("data-enviado");
      form.removeAttribute("aria-busy");
      each(form.querySelectorAll("button"), function (b) { b.disabled = false; });
      var status = form.querySelector(".procesando");
      if (status) { status.textContent = ""; }
    });
  });

  // Error summary: focused so screen readers read it (autofocus does it too
  // where supported); its links focus the field and show its label.
  var resumen = document.getElementById("resumen-errores");
  if (resumen) {
    if (document.activeElement !== resumen) { resumen.focus(); }
    each(resumen.querySelectorAll("a[href^='#']"), function (a) {
      a.addEventListener("click", function (ev) {
        var field = document.getElementById(a.getAttribute("href").slice(1));
        if (!field) { return; }
        ev.preventDefault();
        var label = document.querySelector("label[for='" + field.id + "']");
        (label || field).scrollIntoView();
        field.focus({ preventScroll: true });
      });
    });
  }

  // "Solicitar otra imagen": a new CAPTCHA without losing what was typed.
  // Without JavaScript the link simply reloads the form.
  var otra = document.getElementById("otra-imagen");
  var nssForm = document.getElementById("form-nss");
  if (otra && nssForm && window.fetch && window.DOMParser) {
    otra.addEventListener("click", function (ev) {
      ev.preventDefault();
      var estado = document.getElementById("captcha-estado");
      fetch(otra.getAttribute("href"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var nuevo = doc.querySelector("input[name=captcha_id]");
          var img = doc.getElementById("captcha-imagen");
          if (!nuevo || !img) { throw new Error("sin captcha"); }
          nssForm.querySelector("input[name=captcha_id]").value = nuevo.value;
          document.getElementById("captcha-imagen").src = img.getAttribute("src");
          var campo = document.getElementById("captcha");
          campo.value = "";
          if (estado) { estado.textContent = "Se muestra una imagen nueva."; }
          campo.focus();
        })
        .catch(function () { window.location.assign(otra.getAttribute("href")); });
    });
  }

  // Código Postal → Aceptar fills Estado, Municipio and the Colonia list.
  // Without JavaScript, Aceptar posts the form and the server fills them.
  var form = document.getElementById("form-domicilio");
  if (!form || !window.fetch) { return; }
  var cp = form.querySelector("#cp");
  var aceptar = form.querySelector("button[name=aceptar]");
  var estado = form.querySelector("#estado");
  var municipio = form.querySelector("#municipio");
  var colonia = form.querySelector("#colonia");
  var status = form.querySelector("#cp-estado") || form.querySelector(".procesando");
  var base = form.getAttribute("action").replace(/\/domicilio$/, "");

  function limpiar() {
    each(colonia.querySelectorAll("option:not([value=''])"), function (o) {
      o.parentNode.removeChild(o);
    });
  }

  // Enter in Calle or Número submits the form (Continuar), not Aceptar, the
  // form's first button; Enter in Código Postal still looks it up.
  form.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" || ev.target === cp || ev.target.tagName !== "INPUT") { return; }
    var continuar = form.querySelector("button[name=continuar]");
    if (!continuar) { return; }
    ev.preventDefault();
    continuar.click();
  });

  aceptar.addEventListener("click", function (ev) {
    ev.preventDefault();
    var value = cp.value.trim();
    if (!/^[0-9]{5}$/.test(value)) {
      status.textContent = "El Código Postal debe tener 5 dígitos.";
      cp.focus();
      return;
    }
    status.textContent = "Buscando el Código Postal…";
    aceptar.disabled = true;
    fetch(base + "/cp/" + value, { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, json: j }; }); })
      .then(function (res) {
        aceptar.disabled = false;
        limpiar();
        if (!res.ok || res.json.umf === false) {
          estado.value = res.ok ? res.json.estado : "";
          municipio.value = res.ok ? res.json.municipio : "";
          status.textContent = res.json.error || res.json.mensaje;
          cp.focus();
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
        aceptar.disabled = false;
        status.textContent = "No fue posible consultar el Código Postal. Intenta nuevamente.";
      });
  });
})();

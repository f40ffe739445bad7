// The admin's periodic task page (django-celery-beat): the crontab field's
// help also says the chosen schedule in words, as the package's own inline
// script does (the site's Content-Security-Policy runs no inline script).
(function () {
  const jQuery = window.django && window.django.jQuery;
  const data = document.getElementById("readable-crontabs");
  if (!jQuery || !data) return;
  const readable = JSON.parse(data.textContent);
  const help = jQuery(".field-crontab .help");
  const original = help.text();
  jQuery(".field-crontab_translation").hide();
  jQuery(".field-crontab").on("change", () => {
    const words = readable[jQuery("#id_crontab").val()];
    help.empty().append(document.createTextNode(original));
    if (words) help.append(document.createElement("br"), document.createTextNode(words));
  });
})();

// Stripe.js Payment Element: the card never touches our server; Stripe confirms the
// PaymentIntent and sends the buyer back to the return page, which asks Stripe for the result.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("stripe-form");
  if (!form || typeof window.Stripe !== "function") return;
  const stripe = window.Stripe(form.dataset.publishableKey);
  const elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#payment-element");
  const errorBox = document.getElementById("stripe-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const { error } = await stripe.confirmPayment({
      elements, confirmParams: { return_url: form.dataset.returnUrl },
    });
    if (error) {  // otherwise the browser is already on its way to the return page
      errorBox.textContent = error.message;
      errorBox.hidden = false;
      button.disabled = false;
    }
  });
});

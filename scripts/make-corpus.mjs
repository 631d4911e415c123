// Writes the demo corpus under corpus/: self-written notes on twelve topics.
// Deterministic: the same files every run. Run: node scripts/make-corpus.mjs
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const topics = {
  baking: {
    stems: [
      'sourdough bread',
      'pie crust',
      'croissant dough',
      'banana bread',
      'pizza dough',
      'chocolate cake',
      'bagels',
      'focaccia',
    ],
    sentences: [
      'A healthy sourdough starter doubles in size within a few hours of feeding.',
      'Flour, water, salt and yeast are all a basic loaf of bread needs.',
      'Let the dough rise in a warm kitchen until it has roughly doubled.',
      'Kneading develops gluten, which gives bread its chewy structure.',
      'Cold butter cut into flour makes a flaky pastry crust.',
      'An oven thermometer helps because many home ovens run hot or cold.',
      'Bake the loaf until the crust is deep brown and it sounds hollow when tapped.',
      'Resting the dough overnight in the fridge deepens the flavour.',
      'Weighing ingredients with a kitchen scale gives more reliable results than cups.',
      'Steam in the first minutes of baking lets the bread expand before the crust sets.',
      'Overproofed dough collapses in the oven and bakes into a dense crumb.',
      'Brush the top with egg wash for a shiny, golden finish.',
    ],
  },
  astronomy: {
    stems: [
      'comets',
      'the Andromeda galaxy',
      'lunar eclipses',
      'Jupiter and its moons',
      'meteor showers',
      'neutron stars',
      'the rings of Saturn',
      'exoplanets',
    ],
    sentences: [
      "A comet's tail always points away from the Sun, pushed by the solar wind.",
      'The Andromeda galaxy is the nearest large spiral galaxy to the Milky Way.',
      'During a lunar eclipse the Moon passes through the shadow of the Earth and turns red.',
      'Jupiter has dozens of moons, and the four largest can be seen with binoculars.',
      'Meteor showers happen when Earth crosses the trail of dust left by a comet.',
      'A neutron star packs more mass than the Sun into a sphere the size of a city.',
      "Saturn's rings are made of countless pieces of ice and rock.",
      'Astronomers find exoplanets by watching stars dim as a planet passes in front.',
      'A small telescope on a dark night reveals craters on the Moon and clouds on Jupiter.',
      'Light from distant galaxies left them millions of years ago.',
      'Stars twinkle because turbulence in the atmosphere bends their light.',
      'The orbit of a planet around its star is an ellipse, not a perfect circle.',
    ],
  },
  programming: {
    stems: [
      'unit testing',
      'database indexes',
      'memory leaks',
      'recursion',
      'code review',
      'regular expressions',
      'version control with git',
      'concurrency bugs',
    ],
    sentences: [
      'A unit test checks one small piece of code in isolation from the rest.',
      'An index lets the database find rows without scanning the whole table.',
      'A memory leak grows when a program keeps references it no longer needs.',
      'Every recursive function needs a base case that stops the recursion.',
      'Code review catches bugs early and spreads knowledge across the team.',
      'Regular expressions match patterns in text but quickly become hard to read.',
      'Commit small changes with clear messages so history explains itself.',
      'A race condition appears when two threads touch shared data without a lock.',
      'Profile the program before optimizing, because the slow part is rarely where you guess.',
      'Compilers turn source code into machine instructions the processor can run.',
      'A function that does one thing is easier to test and to reuse.',
      'Logging the inputs of a failing request makes a bug much easier to reproduce.',
    ],
  },
  gardening: {
    stems: [
      'tomato seedlings',
      'composting',
      'pruning roses',
      'raised beds',
      'watering vegetables',
      'growing herbs',
      'garden pests',
      'planting bulbs',
    ],
    sentences: [
      'Tomato seedlings need plenty of light or they grow tall and weak.',
      'A compost pile needs a mix of green kitchen scraps and brown dry leaves.',
      'Prune roses in late winter, cutting just above an outward facing bud.',
      'Raised beds warm up quickly in spring and drain well after rain.',
      'Water vegetables deeply in the morning rather than a little every evening.',
      'Basil, mint and parsley grow happily in pots on a sunny windowsill.',
      'Aphids cluster on new shoots, and ladybirds are their natural predators.',
      'Plant tulip bulbs in autumn, about three times as deep as the bulb is tall.',
      'Mulch keeps moisture in the soil and smothers weeds.',
      'Rotating crops each year keeps soil diseases from building up.',
      'Harvest courgettes young, before they swell into tough marrows.',
      'Earthworms are a sign of healthy, living garden soil.',
    ],
  },
  history: {
    stems: [
      'the Roman aqueducts',
      'the printing press',
      'the Silk Road',
      'ancient Egypt',
      'the Industrial Revolution',
      'medieval castles',
      'the Viking voyages',
      'the fall of Constantinople',
    ],
    sentences: [
      'Roman aqueducts carried water to cities across long distances using gravity alone.',
      'The printing press made books cheaper and spread new ideas across Europe.',
      'Merchants on the Silk Road traded silk, spices and stories between China and the Mediterranean.',
      'The pyramids of ancient Egypt were built as tombs for the pharaohs.',
      'Steam engines powered the factories of the Industrial Revolution.',
      'Medieval castles had thick stone walls, moats and narrow windows for archers.',
      'Viking ships sailed as far as Iceland, Greenland and North America.',
      'Constantinople fell to the Ottoman army in 1453 after a long siege.',
      'Historians compare written records with archaeological finds.',
      'Empires rose and fell as trade routes shifted.',
      'Many old cities grew up beside rivers that brought water and trade.',
      'Letters and diaries show how ordinary people lived in the past.',
    ],
  },
  football: {
    stems: [
      'the offside rule',
      'penalty kicks',
      'goalkeeping',
      'the World Cup',
      'passing drills',
      'team formations',
      'football fitness',
      'set pieces',
    ],
    sentences: [
      'A player is offside if they are nearer the goal line than the last defender when the ball is played.',
      'A penalty kick is taken from twelve yards with only the goalkeeper to beat.',
      'Goalkeepers may handle the ball only inside their own penalty area.',
      'The World Cup is held every four years and watched by billions of fans.',
      'Short passing drills improve first touch and quick decisions.',
      'A back four with two holding midfielders makes a team hard to break down.',
      'Footballers run more than ten kilometres during a full match.',
      'Corners and free kicks are rehearsed set pieces that often decide tight games.',
      'The referee can show a yellow card as a caution or a red card to send a player off.',
      'Pressing high up the pitch forces mistakes from the defending team.',
      'A hat trick means one player scores three goals in a single match.',
      'Extra time and a penalty shootout settle knockout games that end level.',
    ],
  },
  music: {
    stems: [
      'learning the violin',
      'guitar chords',
      'piano scales',
      'jazz improvisation',
      'choir singing',
      'music theory',
      'the symphony orchestra',
      'home recording',
    ],
    sentences: [
      'A violin bow is strung with horsehair rubbed with rosin so it grips the strings.',
      'Three simple chords are enough to play hundreds of folk songs on the guitar.',
      'Practising piano scales slowly with a metronome builds even finger strength.',
      'Jazz musicians improvise melodies over a repeating chord progression.',
      'Singing in a choir trains the ear to blend with the voices around you.',
      'A major scale follows the pattern whole, whole, half, whole, whole, whole, half.',
      'A symphony orchestra groups its players into strings, woodwind, brass and percussion.',
      'A good microphone and a quiet room matter more than expensive recording software.',
      'Tuning before every rehearsal keeps the ensemble in harmony.',
      'Composers mark the tempo and the dynamics at the top of the score.',
      'Listening closely to recordings teaches phrasing that exercises cannot.',
      'The concert began with an overture and ended with a loud finale.',
    ],
  },
  travel: {
    stems: [
      'packing light',
      'train journeys in Europe',
      'jet lag',
      'travel insurance',
      'hostels',
      'road trips',
      'visiting Japan',
      'budget flights',
    ],
    sentences: [
      'Packing light means a single carry-on bag and clothes that mix and match.',
      'Night trains let you cross Europe while you sleep and save a hotel night.',
      'To beat jet lag, get daylight in the morning at your destination.',
      'Travel insurance covers medical bills and cancelled flights abroad.',
      'Hostels offer cheap dormitory beds and a kitchen to share with other travellers.',
      'On a road trip, plan fuel stops and leave time for unexpected detours.',
      'In Japan a rail pass makes the fast shinkansen trains good value.',
      'Budget airlines charge extra for checked luggage and seat selection.',
      'Keep copies of your passport and tickets in case the originals are lost.',
      'Learning a few words of the local language earns friendly smiles.',
      'Airports recommend arriving two hours before an international flight.',
      'Local markets are the best place to taste regional food cheaply.',
    ],
  },
  health: {
    stems: [
      'sleep habits',
      'running for beginners',
      'stretching',
      'hydration',
      'healthy breakfasts',
      'stress and breathing',
      'strength training',
      'posture at the desk',
    ],
    sentences: [
      'Adults need seven to nine hours of sleep for the body to recover.',
      'New runners should alternate walking and jogging to avoid injury.',
      'Gentle stretching after exercise keeps muscles flexible.',
      'Drinking water through the day keeps you hydrated and alert.',
      'Oats, fruit and yoghurt make a breakfast that keeps you full until lunch.',
      'Slow, deep breathing calms the nervous system in stressful moments.',
      'Lifting weights twice a week builds muscle and protects the bones.',
      'Set the monitor at eye level and keep your feet flat on the floor.',
      'Regular walks lower blood pressure and improve mood.',
      'Screens late at night make it harder to fall asleep.',
      'A doctor should check a persistent cough or chest pain.',
      'Rest days let muscles repair and grow stronger.',
    ],
  },
  finance: {
    stems: [
      'saving for retirement',
      'index funds',
      'household budgets',
      'credit card debt',
      'compound interest',
      'emergency funds',
      'mortgages',
      'paying taxes',
    ],
    sentences: [
      'Saving for retirement early gives compound interest decades to work.',
      'An index fund buys every stock in a market index at a very low fee.',
      'A household budget tracks income and spending category by category.',
      'Credit card debt carries high interest, so pay the balance in full each month.',
      'Compound interest earns returns on earlier returns, not just on savings.',
      'An emergency fund of three to six months of expenses cushions a job loss.',
      'A fixed rate mortgage keeps the monthly payment the same for years.',
      'Keep receipts and file the tax return before the deadline to avoid penalties.',
      'Diversification spreads money across assets so one loss hurts less.',
      'Inflation slowly erodes the value of cash kept under the mattress.',
      'Automatic transfers on payday make saving a habit.',
      'Compare loan offers by their annual percentage rate, not the monthly payment.',
    ],
  },
  ocean: {
    stems: [
      'tides',
      'coral reefs',
      'whales',
      'ocean currents',
      'deep sea creatures',
      'sea turtles',
      'sailing',
      'lighthouses',
    ],
    sentences: [
      'Tides rise and fall twice a day, pulled by the gravity of the Moon.',
      'Coral reefs shelter a quarter of all marine species.',
      'Humpback whales sing long songs that travel for miles underwater.',
      'The Gulf Stream carries warm water across the Atlantic towards Europe.',
      'Anglerfish in the deep sea lure prey with a glowing light.',
      'Sea turtles return to the beach where they hatched to lay their eggs.',
      'Sailors tack back and forth to make progress against the wind.',
      'Lighthouses warn ships of rocks with a beam that sweeps across the water.',
      'Warmer seas bleach corals and drive fish towards the poles.',
      'Waves are formed by wind blowing across the surface of the sea.',
      'Salt water freezes at a lower temperature than fresh water.',
      'Plankton drifting near the surface feed everything from fish to whales.',
    ],
  },
  cats: {
    stems: [
      'kitten care',
      'cat behaviour',
      'litter training',
      'feeding cats',
      'indoor cats',
      'cat grooming',
      'adopting a cat',
      'cats and dogs together',
    ],
    sentences: [
      'Kittens need several small meals a day and plenty of sleep.',
      'A cat kneads soft blankets with its paws when it feels safe and content.',
      'Put the litter tray somewhere quiet, away from food and water bowls.',
      'Cats are carnivores and need a diet rich in animal protein.',
      'Indoor cats need scratching posts and climbing shelves to stay active.',
      'Brushing a long haired cat prevents painful mats in its fur.',
      'Shelters check that adopted cats are vaccinated and neutered.',
      'Introduce a cat and a dog slowly, with a safe place for the cat to retreat.',
      'A purring cat is usually relaxed, though cats also purr when hurt.',
      'Cats sleep for most of the day and hunt at dawn and dusk.',
      'Whiskers help a cat judge whether it can fit through a gap.',
      'A vet visit once a year keeps vaccinations and teeth in check.',
    ],
  },
};

const titles = [
  (s) => `A beginner's guide to ${s}`,
  (s) => `Notes on ${s}`,
  (s) => `Common questions about ${s}`,
];

function rng(seed) {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const root = new URL('../corpus/', import.meta.url).pathname;
rmSync(root, { recursive: true, force: true });
let count = 0;
Object.entries(topics).forEach(([topic, { stems, sentences }], ti) => {
  mkdirSync(join(root, topic), { recursive: true });
  stems.forEach((stem, si) => {
    titles.forEach((title, vi) => {
      const rand = rng(ti * 1000 + si * 10 + vi + 1);
      // The stem's own sentence leads, then three or four others from the topic.
      const pool = sentences.filter((_, i) => i !== si);
      const picked = [sentences[si]];
      const n = 3 + Math.floor(rand() * 2);
      while (picked.length < n + 1) {
        const s = pool[Math.floor(rand() * pool.length)];
        if (!picked.includes(s)) picked.push(s);
      }
      const body = `${picked.slice(0, 2).join(' ')}\n\n${picked.slice(2).join(' ')}`;
      const slug = `${stem
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '')}-${vi + 1}`;
      writeFileSync(join(root, topic, `${slug}.md`), `# ${title(stem)}\n\n${body}\n`);
      count++;
    });
  });
});
writeFileSync(
  join(root, 'README.md'),
  '# Demo corpus\n\nShort notes on twelve topics, written for the vecfill demo (generated by `scripts/make-corpus.mjs`; public domain).\n',
);
console.log(`wrote ${count} documents to ${root}`);

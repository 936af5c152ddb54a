package bot

// Temporary passwords. Design (DESIGN.md "Reset", reference/security-and-peers.md §5):
//   - crypto/rand only, every choice uniform (crypto/rand.Int rejects rather than reduces modulo),
//     positions shuffled with crypto randomness (OWASP ASVS 6.4.1: "random");
//   - at least 16 characters (NIST SP 800-63B rev 4 asks ≥ 15 for single-factor passwords), and every
//     one of Entra's four classes present, since a one-pool generator fails Entra's "3 of 4 classes"
//     rule a few percent of the time (reference/graph.md §4);
//   - no characters that are misread when a person reads the password out or types it from a DM:
//     0 O o, 1 l I |, 5 S;
//   - symbols that survive chat rendering and every keyboard (see passwordSymbols).

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// PasswordSpec says what kind of temporary password to make. The zero value is a 16-character
// password.
type PasswordSpec struct {
	Length     int  // characters; 0 means 16; 16 to 256 (Entra's maximum)
	Passphrase bool // words instead of characters, for passwords read out over the phone
	Words      int  // passphrase words; 0 means 4; 4 to 20
}

const (
	DefaultPasswordLength  = 16
	MinPasswordLength      = 16
	MaxPasswordLength      = 256 // Entra's cloud password policy: 8 to 256 characters
	DefaultPassphraseWords = 4
	MinPassphraseWords     = 4 // 4 words × log2(1,810) ≈ 43 bits, plus the digit and the capital
	MaxPassphraseWords     = 20
)

// The character classes, without look-alikes.
const (
	passwordLower  = "abcdefghijkmnpqrstuvwxyz" // no l, o
	passwordUpper  = "ABCDEFGHJKLMNPQRTUVWXYZ"  // no I, O, S
	passwordDigits = "2346789"                  // no 0, 1, 5
	// passwordSymbols are all in Entra's allowed set, and chosen to arrive intact and be typed right:
	//   - not * _ ~ ` : Markdown emphasis, strike-through and code in Slack mrkdwn, Teams and our own
	//     Message.Text (*bold*); a backtick would end the code span the DM shows the password in;
	//   - not & < > : Slack requires them escaped in message text, so a missed escape shows "&amp;";
	//   - not " ' \ or space: quoting and escaping in CSV (bulk results), JSON and shells;
	//   - not ^ ~ ` ' " : dead keys on French, German, Spanish and other layouts (^ then a gives â);
	//   - not | : looks like l, 1 and I; not @ : chat clients turn x@y.z into a mail link;
	//   - not . , ; : / ( ) [ ] { } : sentence punctuation, links, :emoji: codes, Markdown links.
	passwordSymbols = "!#$%+-=?"
	passwordLetters = passwordLower + passwordUpper
	passwordAll     = passwordLower + passwordUpper + passwordDigits + passwordSymbols
)

// GeneratePassword makes a temporary password from crypto/rand.
//
// A character password has spec.Length characters: the first is a letter (so a spreadsheet never
// reads a bulk result starting with = + - as a formula), the rest hold at least one lower-case
// letter, upper-case letter, digit and symbol, every character chosen uniformly and the positions
// shuffled.
//
// A passphrase is spec.Words words from a built-in list of short common English words, joined by
// "-", with one word capitalised and a digit after one word ("maple-Orbit-river7-candle"): all four
// of Entra's classes, easy to read out. Length is not used for passphrases but must still be valid.
func GeneratePassword(spec PasswordSpec) (TempPassword, error) {
	length := spec.Length
	if length == 0 {
		length = DefaultPasswordLength
	}
	if length < MinPasswordLength || length > MaxPasswordLength {
		return TempPassword{}, fmt.Errorf("temporary password length %d: it must be from %d to %d characters",
			spec.Length, MinPasswordLength, MaxPasswordLength)
	}
	if spec.Passphrase {
		words := spec.Words
		if words == 0 {
			words = DefaultPassphraseWords
		}
		if words < MinPassphraseWords || words > MaxPassphraseWords {
			return TempPassword{}, fmt.Errorf("passphrase of %d words: it must have from %d to %d words",
				spec.Words, MinPassphraseWords, MaxPassphraseWords)
		}
		s, err := passphrase(words)
		if err != nil {
			return TempPassword{}, err
		}
		return NewTempPassword(s), nil
	}
	s, err := characterPassword(length)
	if err != nil {
		return TempPassword{}, err
	}
	return NewTempPassword(s), nil
}

func characterPassword(length int) (string, error) {
	rest := make([]byte, 0, length-1)
	for _, class := range []string{passwordLower, passwordUpper, passwordDigits, passwordSymbols} {
		c, err := pick(class)
		if err != nil {
			return "", err
		}
		rest = append(rest, c)
	}
	for len(rest) < length-1 {
		c, err := pick(passwordAll)
		if err != nil {
			return "", err
		}
		rest = append(rest, c)
	}
	if err := shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] }); err != nil {
		return "", err
	}
	first, err := pick(passwordLetters)
	if err != nil {
		return "", err
	}
	return string(first) + string(rest), nil
}

func passphrase(n int) (string, error) {
	list := passphraseWords()
	for {
		words := make([]string, n)
		for i := range words {
			k, err := uniform(len(list))
			if err != nil {
				return "", err
			}
			words[i] = list[k]
		}
		// Capitalise a word that does not start with i, l or o: I reads as l, O as 0.
		var capitalisable []int
		for i, w := range words {
			if !strings.ContainsRune("ilo", rune(w[0])) {
				capitalisable = append(capitalisable, i)
			}
		}
		if len(capitalisable) == 0 {
			continue // every word starts with i, l or o: draw again (rare, and still uniform)
		}
		k, err := uniform(len(capitalisable))
		if err != nil {
			return "", err
		}
		c := capitalisable[k]
		words[c] = strings.ToUpper(words[c][:1]) + words[c][1:]
		d, err := pick(passwordDigits)
		if err != nil {
			return "", err
		}
		k, err = uniform(n)
		if err != nil {
			return "", err
		}
		words[k] += string(d)
		return strings.Join(words, "-"), nil
	}
}

// uniform returns a uniformly random integer in [0, n) from crypto/rand (which draws and rejects, so
// there is no modulo bias).
func uniform(n int) (int, error) {
	if n <= 0 {
		return 0, errors.New("password generator: empty choice")
	}
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("password generator: reading crypto/rand: %w", err)
	}
	return int(v.Int64()), nil
}

func pick(alphabet string) (byte, error) {
	i, err := uniform(len(alphabet))
	if err != nil {
		return 0, err
	}
	return alphabet[i], nil
}

// shuffle is Fisher–Yates with crypto randomness.
func shuffle(n int, swap func(i, j int)) error {
	for i := n - 1; i > 0; i-- {
		j, err := uniform(i + 1)
		if err != nil {
			return err
		}
		swap(i, j)
	}
	return nil
}

// passphraseWords is the word list: short (3 to 7 letters), common, inoffensive English words,
// lower-case a–z, no duplicates (checked by TestPassphraseWordList).
func passphraseWords() []string { return passphraseList }

var passphraseList = strings.Fields(passphraseWordText)

// passphraseWordText was written for resetbot (sorted, one space between words).
const passphraseWordText = `
abacus able acorn active actor add admire adopt adult agent agile agree aim airy alarm album
alert alive alley allow almond amber amble ample anchor ancient angle ankle answer ant anvil ape
apple apricot apron arctic arena argue arm army arrive arrow art artist ask aspen atlas attic
aunt author award axe azure baby back bacon badge badger bag bagel bake baker bakery ball
balloon balmy bamboo banana band banjo bank banner barley barn barrel base basil basin basket
bat batch bathe bay bazaar beach beacon beam bean bear beard beaver bed bee beef beetle beg
beige bell belt bench bend berry bike bill bind bingo birch bird biscuit bishop bison bistro
black blade blanket blend blimp blink block blog bloom blossom blue bluff boar board boast boat
bobbin bobcat body boil bold bolt bone bongo bonus book boot borrow boss bottle bough boulder
bounce bouncy bow bowl box bracket braid brain branch brand brave bread breathe breeze breezy
brew brick bride bridge brie bright brisk bronze brook broom broth brother brown browse brush
bubbly bucket buckle buddy budget bugle build bull bun bundle burn bush busy butter button buy
cabbage cabin cable cactus cadet cafe cake calf caliper call calm camel camera camp canal candid
candle candy canoe canopy canvas canyon cap cape captain caramel carbon card cargo carol carpet
carrot carry cart cartoon carve cashew cast castle cat catch cause cave cavern cedar celery
cellar cement cereal chain chair chalk chant chapel chapter charm chase cheek cheer cheery
cheese chef cherry chess chest chew chief child chili chilly chime chin chip chive chop chorus
chuckle cider cipher circle circus citrus city civic clam clan clap class classic clean clear
clerk clever client cliff climate climb clinic clip cloak clock close cloud cloudy clove clover
coach coast coat coax cobalt cobra cobweb cocoa cocoon cod code coffee coin collar collect color
colt comb comedy comet comic compass comply condor confer cook cookie cope copper copy coral
cord cork corn cosmic cosmos cottage cotton couch cougar count court cousin cove cow cowboy
coyote cozy crab cradle crafty crane crate crater crave crawl crayon cream credit creek crepe
crest crew cricket crimson crisp cross crow crowd crown crumb crunchy crust cub cuddly cuff
cumin cup curly curry curtain cushion custard cut cute cyan cycle dabble dad daily dainty dairy
daisy dance dancer dandy dapper dash data date dawn deal dear debate decade decide deep deer
defend degree delay delta depart deploy depot desert design desk detail detect devote dew dial
diary dig dill diner dingo dish dive dizzy dock doctor dodge dog dollar domain dome domino
donate donkey donut doodle door dough dove dozen draft dragon drama drape draw dream dreamy
dribble drift drink drive driver drop drum duck dune dusk dust dusty eager eagle ear early earn
earth easel easy eat ebony echo editor eel effort egg elastic elbow elect elegant elixir elk elm
embark ember emblem employ emu endure energy engine enjoy enlist enter epic eraser escort
estuary event evolve ewe exact excel exotic expand expert explore eye fable fabric face factor
fair fairy falcon family famous fan fancy farm farmer fast fasten father favor fawn feast
feather feisty fence fern ferret fetch fever fiddle field fierce fiery fig figure fill finch
find fine finger firm fish fit fix fjord flag flame flannel flashy flask flea fleet flick flight
flip float flock flora flour flow flower fluffy flute flutter fly foal focus fog fold folder
follow fond fondue foot forest forge fork fort fossil fox foyer frame free fresco fresh friend
frisky frog frolic frost frosty fudge funnel funny future fuzzy gadget galaxy gallery gallop
game garage garden garlic gate gather gazebo gear gecko gelato gem genius gentle gerbil geyser
giant gift gifted giggle ginger give glacier glad glade glance glass gleam gleeful glen glide
glimmer globe glory glossy glove glow gnat gnome goal goat goblet gold golden gong good goose
gopher grab grand granite grape grass gravel gravy gray graze great green greet griffin grin
groovy grove grow grumble guard guess guide guitar gull gully gulp gust gusto habit haiku hail
hall halo ham hammer hamster hand handy hang hangar happy harbor hardy hare harness harp hasty
hat hatch haven hawk hazel hazy heart hearty heath heavy helix helmet help helpful hen herald
herb hermit hero heron hidden hide hike hill hinge hippo hobby hog hold holiday hollow holly
honest honey honor hook hop horn horse hose hotel hound house hover hug hum humble humor hunt
hurry husky hut ibis icicle icy idea ideal igloo iguana image imagine inch index indigo inform
inkwell inn insect inspire invent invite iris iron island ivory ivy jackal jacket jade jam jar
jasmine jay jazzy jelly jester jewel jigsaw jingle job jockey jog join joke jolly journal judge
juggle juice jumbo jump jumpy jungle jury kale karma kayak kazoo keen keep kernel kettle key
keynote khaki kick kind kindle kindly king kiosk kitchen kite kitten kiwi knee kneel knight knit
knob knock koala krill label ladder lady lagoon lake lamb lamp lantern laptop large lark laser
lasso latch laugh launch lava lavish lawn layer lead leader leaf leafy lean learn ledge ledger
leek leg legacy legal legend lemon lemur lend lens lentil letter level lever library lid lift
like lilac lily lilypad limber lime limit linen linger lion lip liquid list listen lively llama
load lobby lobster lock locker locket lodge lofty logic look lotus lounge love loyal lucky
lumber lunar lunch lush lynx lyric magic magma magnet magpie major make mallet mammoth mango
manor mantle map maple marble march marina market maroon marsh marten mask match mature mauve
mayor meadow meal medal mellow melon melt member memory mend mentor menu merry mesa metal meteor
method metro mighty mild milk mill millet mimic mingle mink minnow mint minty minute mirror mist
misty mitten mix model modern modest mole moment monkey moon moose mortar mosaic moss mossy moth
motor mound mouse move movie muddy muffin mug mule mumble munch museum music mussel mustard
mystic nacho nail napkin nation native nature navy neat nebula neck nectar needle nephew net
newt niece nifty nimble noble nod noise nomad noodle nose notice novel nozzle nudge nugget
number nurse nurture nut nutmeg nutty oak oaken oar oasis oat obey object ocean ochre odd offer
office olive omelet onion open opera option oracle orange orbit orca orchard orchid order
orderly organ osprey otter outfit outpost oven owl owner oxygen oyster pack paddle paddock
padlock page pail paint palace palette palm pamper pan pancake panda panel panther pantry papaya
paper paprika parade parcel parent park parrot parsley party pass pasta pastry pasture pat patch
patio patrol pattern pause peach peak peanut pear pearl pebble pecan pedal peek pelican pen
pencil pendant penguin people pepper perch period person petal phone photo piano pick pickle pie
pier pig pigeon pillow pilot pin pine pink pipe piston pixel pizza plain planet plank plant
plate play player plaza plover plow plucky plum plume plush pocket poem poet poetic point polish
polite polka pollen pond ponder pony poodle poppy porch port portal poster pot potato pouch
pounce pour prairie praise prance prefer press pretzel prime print prism prize profit proud
prune pudding puffin pull pulley pulpit pulsar puma pump pumpkin puppet purple push puzzle quail
quaint quarry quartz quest quiche quick quiet quilt quinoa quirky quiver quiz quote rabbit race
radar radiant radio radish rafter ragtime rain raisin rake rally ram ramble ranch ranger rapid
rapids rare rattle raven ravioli read ready reason recall reckon record red reef refer regal
relax relay relic relish remedy remind repair reply rescue rest retire reveal rhino rhythm
ribbon rice rich riddle ride ridge ring rinse ripe ripple rise rival river rivet roam roar robe
robin robot robust rock rocket rocky rodeo roll rookie rope rose rosy round route rover row
rowdy royal ruby rug rugged ruler rumble rumor run rune rural rush rust rustic sack saddle
safari safe saga sage sail sailor salad salmon saloon salsa salt salute sample sand sandy
sapling satchel sauce save savor savvy say scan scarf scarlet scatter scene scenic school
scissor scone scout screw scroll sea seal search season second secret see sell send senior
sensor sentry sequel serene series settle sew shadow shaggy shake share shark sharp shed sheep
shelf shelter shield shin shine shiny shirt shiver shoal shoe shop shore short shout shovel
shrew shrimp shuffle shy sickle sierra sieve sign signal silent silky silver simmer simple sing
singer sip sister sit skate sketch skid skill skip skunk sky sled sleek sleep slide slim slope
sloth slumber smart smile smooth snail snake snappy sniff snooze snow snowy snug soar soccer
sock socket soda sofa soft soil solar solid solo solve sonar sonic sonnet sorbet sort sound soup
source spade spark sparkle sparrow sparse speak speech sphere sphinx spice spicy spin spinach
spindle spiral spirit splash sponge spool spoon sport spotty spray spring sprint sprout spruce
spry square squash squeeze squid stable stack stage stamp stand stanza stapler star start statue
status stay steady steak steer stencil step stew still stir stone stool stop stork storm stormy
story stout stove strap stream street string stripe stroll strum studio stumble stump sturdy
style suburb sugar sugary summer summit sun sundial sunny sunset super supper surf survey sushi
swamp swan sway sweet swift swim swing symbol syrup table tablet tack tackle taco tadpole talent
talk tall tame tan tandem tape tapioca target tartan taste tavern tea teach teacher teal teapot
tell tempest temple tempo tender tennis tent terrace theater thesis thicket thimble think
thistle thorn thread thrifty throw thrush thumb thunder thyme ticket tide tidy tie tiger tile
timber timer timid tinker tiny title toad toast toaster toe toffee tofu token tomato tonic tool
tooth topaz topic topple torch tornado toss total totem toucan tough tourist towel tower town
toy trace trader trail travel tray treaty tree trek trellis tribute tricky trim trinket tripod
trophy tropic trout trowel true truffle trumpet trunk trusty try tub tuba tube tulip tumble tuna
tundra tunnel turkey turn turnip turtle tutor tuxedo twig twirl type umpire uncle unfold unicorn
unit unite unpack upbeat update uplink urban urchin use utopia vacuum valiant valley valve
vanilla vapor vase vast vault vector velvet venue verdict verse vertex vest video view vigor
village vine vintage violet violin viper vision visit visitor vivid vocal volcano volume voter
vouch voyage wacky wade waffle wagon wait waiter walk wallet walnut walrus wand wander want
warden warm wash wasp watch wave wavy weasel weave wedge weed wetland whale wharf wheat wheel
whisk whistle white wide wiggle wild willow wind window windy wink winter wintry wire wise wish
witty wizard wobble wolf wombat wonder wood wooden woolly work worm worthy wren wrench wrist
write writer yacht yak yard yarn yawn year yellow yodel yogurt yonder young zany zebra zenith
zephyr zesty zigzag zipper zippy zone zoom
`
